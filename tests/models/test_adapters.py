import torch
from torch import nn

from illume.models.adapters import Adapted, AdapterConfig, BottleneckAdapter
from illume.models.wiring import adapter_parameters, adapter_state_dict, add_adapters


def test_untrained_adapter_is_identity():
    adapter = BottleneckAdapter(32, downsample_factor=8)
    x = torch.randn(3, 5, 32)
    assert torch.equal(adapter(x), x)
    assert adapter.down.out_features == 4


def test_trained_adapter_changes_output():
    adapter = BottleneckAdapter(16, downsample_factor=4)
    nn.init.normal_(adapter.up.weight)
    x = torch.randn(2, 16)
    assert not torch.allclose(adapter(x), x)


def test_adapted_block_keeps_tuple_tail():
    class Attn(nn.Module):
        def forward(self, x):
            return x * 2, "weights"

    wrapped = Adapted(Attn(), BottleneckAdapter(8))
    out, extra = wrapped(torch.ones(1, 8))
    assert extra == "weights"
    assert torch.equal(out, torch.full((1, 8), 2.0))


def test_wiring_puts_one_adapter_after_each_attention_and_mlp(tiny_model):
    lm = tiny_model.lm
    n_layers = lm.config.num_hidden_layers
    assert tiny_model.n_adapters == 2 * n_layers
    assert add_adapters(lm, AdapterConfig(), lm.config.hidden_size) == 0  # idempotent
    names = list(adapter_state_dict(lm))
    assert all(".adapter." in k for k in names) and len(names) == 4 * 2 * n_layers
    assert all(p.requires_grad for p in adapter_parameters(lm))


def test_only_mlp_adapters():
    from transformers import LlamaConfig, LlamaForCausalLM

    lm = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=50,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=3,
            num_attention_heads=2,
        )
    )
    assert add_adapters(lm, AdapterConfig(attention=False), 16) == 3
