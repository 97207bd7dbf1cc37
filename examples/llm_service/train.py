"""Reference trainer of the training service API (docs/API-v1.md): `train.py CONFIG.json`.

The viewer writes CONFIG (service/training_service.h): dataset_dir, output_dir, base_model_dir,
run_id, project, run_name, runicorn_dir, seed, config {learning_rate, batch_size, num_epochs,
quantization}, lora_config {r, lora_alpha, lora_dropout} | null. This script trains a small
character-level transformer (charlm.py) on the dataset's text and logs its run with
`import runicorn` under the given run id: every step train_loss, learning_rate and epoch
(fractional), every epoch val_loss and perplexity when there is a validation split.

LoRA: with a base model, the base is frozen and only rank-r adapters on every attention and MLP
projection are trained; without one, the base is freshly initialised and trained together with
its adapters. quantization "int8" stores the result with dynamically quantized Linear layers.
SIGTERM (a cancel) ends the run as `interrupted` and writes no model.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import sys


class Interrupted(Exception):
    pass


def _on_term(signum, frame):
    raise Interrupted()


# Installed before the slow imports, so a cancel at any time ends the run cleanly.
signal.signal(signal.SIGTERM, _on_term)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import runicorn as rn  # noqa: E402

import charlm  # noqa: E402


def row_text(row: dict) -> str:
    if isinstance(row.get("text"), str):
        return row["text"]
    return "\n".join(str(v) for v in row.values() if v is not None)


def read_rows(path: str) -> list:
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_texts(dataset_dir: str):
    """(train texts, validation texts) of a processed (jsonl splits) or raw dataset."""
    if os.path.exists(os.path.join(dataset_dir, "train.jsonl")):
        train = [row_text(r) for r in read_rows(os.path.join(dataset_dir, "train.jsonl"))]
        val_path = os.path.join(dataset_dir, "validation.jsonl")
        val = [row_text(r) for r in read_rows(val_path)] if os.path.exists(val_path) else []
        return train, val
    for name in ("data.json", "data.csv"):
        if os.path.exists(os.path.join(dataset_dir, name)):
            return [row_text(r) for r in read_rows(os.path.join(dataset_dir, name))], []
    raise SystemExit(f"train.py: no dataset files in {dataset_dir}")


def windows(ids: list, block: int) -> torch.Tensor:
    """Overlapping (block + 1)-long windows, half a block apart; short text is repeated."""
    while len(ids) < block + 2:
        ids = ids + ids
    starts = range(0, len(ids) - block - 1, max(1, block // 2))
    return torch.tensor([ids[s:s + block + 1] for s in starts], dtype=torch.long)


def evaluate(model, data: torch.Tensor, batch_size: int) -> float:
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            b = data[i:i + batch_size]
            logits = model(b[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b[:, 1:].reshape(-1),
                                     reduction="sum").item()
            n += b[:, 1:].numel()
    model.train()
    return total / max(1, n)


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    cfg = job["config"]
    lora = job.get("lora_config")
    seed = job.get("seed")
    torch.manual_seed(0 if seed is None else seed)
    train_texts, val_texts = load_texts(job["dataset_dir"])
    sep = "\n\n"
    train_corpus = sep.join(train_texts) + sep

    base_dir = job.get("base_model_dir")
    if base_dir:
        model, vocab, meta = charlm.load(base_dir)
        if meta.get("quantization") or meta.get("lora"):
            print("train.py: a LoRA base must be a full-precision model without adapters", file=sys.stderr)
            return 2
        arch = meta["arch"]
        model.train()
        for p in model.parameters():
            p.requires_grad_(False)
    else:
        arch = dict(charlm.DEFAULT_ARCH)
        vocab = charlm.Vocab.from_text(train_corpus)
        model = charlm.CharTransformer(len(vocab.chars), arch)
    if lora:
        model.add_lora(lora["r"], lora["lora_alpha"], lora["lora_dropout"])
    params = model.lora_parameters() if base_dir else list(model.parameters())

    block = arch["block_size"]
    train_data = windows(vocab.encode(train_corpus), block)
    val_data = windows(vocab.encode(sep.join(val_texts) + sep), block) if val_texts else None
    batch_size, epochs, lr = cfg["batch_size"], cfg["num_epochs"], cfg["learning_rate"]
    steps_per_epoch = (len(train_data) + batch_size - 1) // batch_size
    total_steps = steps_per_epoch * epochs
    opt = torch.optim.AdamW(params, lr=lr)

    run = rn.init(project=job.get("project", "llm_service"), name=job.get("run_name"), run_id=job["run_id"],
                  storage=job.get("runicorn_dir"),
                  config={"task_id": job["task_id"], "dataset": job["dataset"], "base_model": job.get("base_model"),
                          **{k: v for k, v in cfg.items() if k != "output_dir"},
                          "lora_config": lora, "trainable_parameters": sum(p.numel() for p in params)})
    try:
        step = 0
        gen = torch.Generator().manual_seed(0 if seed is None else seed)
        for epoch in range(epochs):
            order = torch.randperm(len(train_data), generator=gen)
            for i in range(steps_per_epoch):
                b = train_data[order[i * batch_size:(i + 1) * batch_size]]
                # Linear decay to a tenth of the rate over the whole run.
                cur_lr = lr * (1.0 - 0.9 * step / max(1, total_steps - 1))
                for g in opt.param_groups:
                    g["lr"] = cur_lr
                logits = model(b[:, :-1])
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b[:, 1:].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                run.log({"train_loss": loss.item(), "learning_rate": cur_lr,
                         "epoch": epoch + (i + 1) / steps_per_epoch}, step=step)
            if val_data is not None:
                val_loss = evaluate(model, val_data, batch_size)
                run.log({"val_loss": val_loss, "perplexity": float(torch.exp(torch.tensor(val_loss)))}, step=step)
        model.eval()
        if cfg.get("quantization") == "int8":
            model = charlm.quantize_int8(model)
        charlm.save(model, vocab, arch, job["output_dir"], lora, cfg.get("quantization"), job.get("base_model"))
    except Interrupted:
        run.finish("interrupted")
        return 143
    except BaseException:
        run.finish("failed")
        raise
    run.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
