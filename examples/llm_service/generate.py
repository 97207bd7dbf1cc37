"""Reference generator of the training service API (docs/API-v1.md):
`generate.py REQUEST.json RESPONSE.json` (service/model_service.h describes both files).

Samples up to max_length new characters per sequence from a charlm.py model: temperature 0 is
greedy decoding; otherwise logits / temperature, then top_k (0: off) and top_p (nucleus)
filtering. One random generator per request, seeded with `seed` (random when null), so a fixed
seed reproduces the request's texts and the sequences of one request differ from each other.
"""
from __future__ import annotations

import json
import os
import sys

import torch
import torch.nn.functional as F

import charlm


def sample_next(logits: torch.Tensor, temperature: float, top_k: int, top_p: float,
                gen: torch.Generator) -> int:
    if temperature == 0:
        return int(torch.argmax(logits))
    logits = logits / temperature
    if 0 < top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits, dim=-1)
    if top_p < 1.0:
        sorted_p, idx = torch.sort(probs, descending=True)
        # Keep the smallest prefix whose mass reaches top_p (always at least the top token).
        drop = torch.cumsum(sorted_p, 0) - sorted_p >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(0, idx, sorted_p)
        probs = probs / probs.sum()
    return int(torch.multinomial(probs, 1, generator=gen))


def generate(model, vocab, prompt: str, req: dict, gen: torch.Generator) -> str:
    ids = vocab.encode(prompt) or [0]
    block = model.block_size if hasattr(model, "block_size") else 64
    out = []
    with torch.no_grad():
        for _ in range(req["max_length"]):
            ctx = torch.tensor([(ids + out)[-block:]], dtype=torch.long)
            logits = model(ctx)[0, -1]
            logits[0] = float("-inf")  # never emit the unknown character
            out.append(sample_next(logits, req["temperature"], req["top_k"], req["top_p"], gen))
    return vocab.decode(out)


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    model, vocab, _ = charlm.load(req["model_dir"])
    seed = req.get("seed")
    gen = torch.Generator().manual_seed(int.from_bytes(os.urandom(8), "little") >> 1 if seed is None else seed)
    texts = [[generate(model, vocab, p, req, gen) for _ in range(req["num_return_sequences"])]
             for p in req["prompts"]]
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"generated_texts": texts}, f, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
