"""The embedded family (the default): MAGMA's architecture at small scale, offline, on a CPU.

    model.py      EmbeddedVLM, its config and `build_embedded` (the registry's loader)
    encoders.py   EfficientNet-Lite0 (frozen, ImageNet) and a tiny random encoder for tests
    weights/      the image prefix aligned once (scripts/pretrain_prefix.py)

Shared with MAGMA: the image-prefix model (../prefix_vlm.py), the prefix itself
(../image_prefix.py) and the adapters (../adapters.py, ../wiring.py).
"""
