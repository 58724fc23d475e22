"""The tuning job: DeepSpeed engine set-up, the training loop, and the launcher entry point."""
