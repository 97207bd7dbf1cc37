"""A small character-level transformer with optional LoRA adapters, and its on-disk format.

Used by train.py and generate.py, the reference trainer and generator of the training service
API (docs/API-v1.md). A model folder holds:

    model.json   {"format": 1, "vocab": [...], "arch": {...}, "lora": {...} | null,
                  "quantization": "int8" | null, "base_model": ID | null}
    model.pt     the state dict (with LoRA adapters when "lora" is set; int8: dynamically
                 quantized Linear layers, rebuilt the same way before loading)

Character 0 of the vocabulary is the unknown character: text the model never saw maps to it.
"""
from __future__ import annotations

import json
import math
import os
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = 1
UNK = "\u0000"
DEFAULT_ARCH = {"d_model": 64, "n_heads": 4, "n_layers": 2, "block_size": 64, "dropout": 0.0}


class LoRALinear(nn.Module):
    """y = W x + b + (alpha / r) * B(A(dropout(x))): a frozen-able base layer plus a rank-r update.

    B starts at zero, so an adapter added to a trained base changes nothing until it is trained.
    """

    def __init__(self, base: nn.Linear, r: int, alpha: int, dropout: float):
        super().__init__()
        self.base = base
        self.r = r
        self.scale = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.t() @ self.lora_B.t()) * self.scale


class Block(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=1)
        att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))


class CharTransformer(nn.Module):
    def __init__(self, vocab_size: int, arch: Dict):
        super().__init__()
        d = arch["d_model"]
        self.block_size = arch["block_size"]
        self.tok = nn.Embedding(vocab_size, d)
        self.pos = nn.Embedding(self.block_size, d)
        self.blocks = nn.ModuleList(Block(d, arch["n_heads"], arch["dropout"]) for _ in range(arch["n_layers"]))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab_size)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))

    def add_lora(self, r: int, alpha: int, dropout: float) -> None:
        """Wraps every attention and MLP projection in a LoRALinear."""
        for blk in self.blocks:
            for name in ("qkv", "proj", "fc1", "fc2"):
                setattr(blk, name, LoRALinear(getattr(blk, name), r, alpha, dropout))

    def lora_parameters(self) -> List[nn.Parameter]:
        return [p for n, p in self.named_parameters() if "lora_" in n]


class Vocab:
    def __init__(self, chars: List[str]):
        if not chars or chars[0] != UNK:
            chars = [UNK] + [c for c in chars if c != UNK]
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @staticmethod
    def from_text(text: str) -> "Vocab":
        return Vocab([UNK] + sorted(set(text) - {UNK}))

    def encode(self, text: str) -> List[int]:
        return [self.index.get(c, 0) for c in text]

    def decode(self, ids: List[int]) -> str:
        return "".join(self.chars[i] for i in ids if i != 0)


def quantize_int8(model: nn.Module) -> nn.Module:
    return torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def save(model: nn.Module, vocab: Vocab, arch: Dict, out_dir: str, lora: Optional[Dict],
         quantization: Optional[str], base_model: Optional[str]) -> None:
    os.makedirs(out_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(out_dir, "model.pt"))
    meta = {"format": FORMAT, "vocab": vocab.chars, "arch": arch, "lora": lora,
            "quantization": quantization, "base_model": base_model}
    with open(os.path.join(out_dir, "model.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False)


def load(model_dir: str):
    """(model in eval mode, vocab, meta) of a folder written by save()."""
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{model_dir}: not a charlm model (format {meta.get('format')!r})")
    vocab = Vocab(meta["vocab"])
    model = CharTransformer(len(vocab.chars), meta["arch"])
    if meta.get("lora"):
        model.add_lora(meta["lora"]["r"], meta["lora"]["lora_alpha"], 0.0)
    if meta.get("quantization") == "int8":
        model = quantize_int8(model)
    model.load_state_dict(torch.load(os.path.join(model_dir, "model.pt")))
    model.eval()
    return model, vocab, meta
