"""Tests of sciml.encoder: shapes, padding invariance, extra embeddings, MLM head, sampler."""

import numpy as np
import pytest
import torch

from sciml.encoder import (
    ENCODER_SIZES,
    EncoderLayer,
    LengthBucketBatchSampler,
    MaskedLMHead,
    TransformerEncoder,
    count_parameters,
    pool,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return TransformerEncoder.from_size("tiny", vocab_size=40).eval()


def test_shapes_and_sizes(encoder):
    ids = torch.randint(5, 40, (3, 11))
    assert encoder(ids).shape == (3, 11, 64)
    assert 50_000 < count_parameters(encoder) < 150_000
    assert set(ENCODER_SIZES) == {"tiny", "small", "base"}
    assert ENCODER_SIZES["base"]["d_model"] == 768 and ENCODER_SIZES["base"]["n_layers"] == 12


def test_padding_invariance(encoder):
    ids = torch.randint(5, 40, (4, 9))
    ids[:, 0] = 2
    lengths = [9, 7, 5, 3]
    alone = [encoder(ids[i : i + 1, :n])[0] for i, n in enumerate(lengths)]
    padded_ids = ids.clone()
    for i, n in enumerate(lengths):
        padded_ids[i, n:] = 0
    wide = torch.cat([padded_ids, torch.zeros(4, 6, dtype=torch.long)], 1)
    batch = encoder(wide, wide != 0)
    for i, n in enumerate(lengths):
        torch.testing.assert_close(batch[i, :n], alone[i], atol=1e-5, rtol=1e-5)


def test_first_only_matches_full_pass_with_padding(encoder):
    ids = torch.randint(5, 40, (4, 12))
    ids[:, 0] = 2
    for i, n in enumerate([12, 9, 4, 2]):
        ids[i, n:] = 0
    mask = ids != 0
    full = encoder(ids, mask)
    first = encoder(ids, mask, first_only=True)
    assert first.shape == (4, 1, 64)
    torch.testing.assert_close(first, full[:, :1], atol=1e-5, rtol=1e-5)
    # the first position still attends to every real token: changing the last one moves it
    ids[0, 11] = 7 if ids[0, 11] != 7 else 8
    assert not torch.allclose(encoder(ids, mask, first_only=True)[0], first[0])


def test_extra_embeddings_hook(encoder):
    ids = torch.randint(5, 40, (2, 6))
    extra = torch.zeros(2, 6, 64)
    torch.testing.assert_close(encoder(ids, extra_embeddings=extra), encoder(ids))
    extra[:, 3] = 1.0
    assert not torch.allclose(encoder(ids, extra_embeddings=extra), encoder(ids))
    with pytest.raises(ValueError, match="extra_embeddings"):
        encoder(ids, extra_embeddings=torch.zeros(2, 6, 8))


def test_too_long_and_unknown_size(encoder):
    with pytest.raises(ValueError, match="max_len"):
        encoder(torch.ones(1, 300, dtype=torch.long))
    with pytest.raises(ValueError, match="tiny, small, base"):
        TransformerEncoder.from_size("huge", 10)


def test_mlm_head_tied_and_untied(encoder):
    tied = MaskedLMHead(64, 40, tied_embedding=encoder.token_embedding)
    assert tied.decoder.weight is encoder.token_embedding.weight
    untied = MaskedLMHead(64, 40)
    hidden = torch.randn(2, 5, 64)
    assert tied(hidden).shape == untied(hidden).shape == (2, 5, 40)


def test_pool():
    hidden = torch.arange(12.0).view(1, 4, 3)
    mask = torch.tensor([[True, True, False, False]])
    torch.testing.assert_close(pool(hidden, mask, "cls"), hidden[:, 0])
    torch.testing.assert_close(pool(hidden, mask, "mean"), hidden[:, :2].mean(1))


def test_bucket_sampler_covers_all_and_buckets():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 80, 1000)
    sampler = LengthBucketBatchSampler(lengths, 32, pool_batches=10, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 0.25 * np.ptp(lengths)  # far less padding than random batches
    sampler.set_epoch(1)
    assert list(sampler) != batches
    sampler.set_epoch(0)
    assert list(sampler) == batches


def test_bucket_sampler_max_tokens():
    sampler = LengthBucketBatchSampler([10] * 8 + [100] * 4, 8, shuffle=False, max_tokens=250)
    assert all(len(b) * 100 <= 250 for b in sampler if len(b) and max(b) >= 8)


def test_bucket_sampler_epoch_size_walks_whole_passes():
    lengths = np.arange(100) % 17 + 3
    sampler = LengthBucketBatchSampler(lengths, 8, seed=2, epoch_size=30)
    seen, sizes = [], []
    for epoch in range(8):  # slices of 30, 30, 30 and 10 make a pass: two passes
        sampler.set_epoch(epoch)
        batches = list(sampler)
        sizes.append(sum(len(b) for b in batches))
        assert len(sampler) == len(batches)
        seen += [i for b in batches for i in b]
    assert sizes == [30, 30, 30, 10] * 2
    assert sorted(seen) == sorted(list(range(100)) * 2)
    with pytest.raises(ValueError, match="epoch_size must be >= 1, got 0"):
        LengthBucketBatchSampler(lengths, 8, epoch_size=0)


def test_cpu_training_attention_matches_sdpa():
    torch.manual_seed(0)
    layer = EncoderLayer(32, 4, 64, dropout=0.0).train()
    x = torch.randn(3, 7, 32)
    keys = torch.ones(3, 7, dtype=torch.bool)
    keys[1, 4:] = keys[2, 2:] = False
    mask = keys[:, None, None, :]
    with torch.no_grad():  # the SDPA kernel
        expected = layer(x, mask)
    out = layer(x, mask)  # gradients on: the written-out math kernel
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    out.sum().backward()
    assert layer.qkv.weight.grad is not None and torch.isfinite(layer.qkv.weight.grad).all()
