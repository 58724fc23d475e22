"""The MAGMA family: CLIP RN50x16 -> image prefix -> GPT-J-6B with adapters, imported.

    model.py        MagmaVLM, its config, `load_magma` and `build_magma` (the registry's loader)
    clip_resnet.py  CLIP's ResNet visual tower without its attention pool
    keys.py         the explicit map between MAGMA's checkpoint names and ours
    importer.py     `illume magma-import`: checkpoint -> sharded safetensors folder + report
    cli.py          the command's arguments and entry point

Shared with the embedded family: ../prefix_vlm.py, ../image_prefix.py, the adapters.
"""
