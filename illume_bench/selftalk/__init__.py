"""Self-talk (Shwartz et al. 2020): the ILLUME paper's check of a language model on six
commonsense multiple-choice sets before it becomes a VLM's core (Sec. 3.2, 4.2, Table 1).

    formats.py   importers for each set's published file format -> `Instance`
    prefixes.py  the clarification questions asked per set
    textlm.py    a loaded model's LM without its image, behind prefill/step/target_nll
    protocol.py  clarifications (sampled with illume.sample's Sampler) and scoring
    accuracy.py  accuracy, chance, Wilson intervals, the Table 1 layout
    cli.py       `illume selftalk`
"""
