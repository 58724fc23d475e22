"""The Hugging Face family: any image-text-to-text model, tuned through PEFT.

    loader.py     `build_hf` (the registry's loader): picks the class from the model's config
    model.py      HFVisionLanguageModel: prefill / step / target_nll / versions; memory checks
    blip.py       BLIP (v1), whose text decoder cross-attends to the image at every step
    inputs.py     prompts and images -> processor inputs (chat template or plain text)
    tuners.py     what is tuned: LoRA, prompt tuning, bottleneck adapters
    build.py      tiny models of real architectures, offline (`python -m illume.testing.tiny_vlms`)

Nothing is imported here, so `import illume.models.hf.<module>` loads only what it needs.
"""
