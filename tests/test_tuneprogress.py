"""Progress records: what the job appends and what the parent reads back."""

from illume.tuneprogress import ProgressTail, ProgressWriter, describe


def test_the_tail_reads_whole_records_once(tmp_path):
    path = tmp_path / "progress.jsonl"
    tail = ProgressTail(path)
    assert tail.read() == []  # no file yet: no records
    write = ProgressWriter(path)
    write({"event": "step", "step": 1, "loss": 2.0})
    with open(path, "a") as f:
        f.write('{"event": "step", "step": 2, "lo')  # the child is mid-line
    (first,) = tail.read()
    assert first["step"] == 1 and first["time"] > 0
    with open(path, "a") as f:
        f.write('ss": 1.5}\nnot json\n')
    assert [r["loss"] for r in tail.read()] == [1.5]  # the bad line is skipped
    assert tail.read() == []
    write.close()


def test_describe_names_epoch_step_and_loss():
    step = {"event": "step", "epoch": 1, "epochs": 2, "step": 3, "steps": 4, "loss": 1.25}
    line = describe({**step, "global_step": 3, "total_steps": 8, "tokens_per_s": 99.0})
    assert line == "epoch 1/2 step 3/4 (3/8) loss 1.2500 tokens/s 99 ranks 1"
    assert "val ROUGE-L 0.5000" in describe({"event": "epoch", "epoch": 1, "val_rouge": 0.5})
