"""Dev-time reference: a Hugging Face model directory read the way
transformers reads it, and run with transformers' Llama / Qwen2 forward
written out in plain PyTorch (eager attention, rotate_half RoPE, grouped-query
attention by repeat_kv, RMSNorm in float32, SiLU MLP, tied or untied head).

Used by scripts/check-hf-torch.ts; needs only torch and numpy (no
transformers, no safetensors package):

    python3 scripts/hf_torch_reference.py MODEL_DIR '[[1, 2, 3], [4, 5]]'

prints {"logits": [[[...V floats] per position] per sequence]} as JSON.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=DTYPES[e["dtype"]])
        if e["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(arr.astype(np.float32).reshape(e["shape"]).copy())
    return out


def load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    w = {}
    for f in files:
        w.update(read_safetensors(os.path.join(model_dir, f)))
    return cfg, w


def rms_norm(x, weight, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(cfg, w, ids):
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    hidden = cfg["hidden_size"]
    head_dim = cfg.get("head_dim") or hidden // heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    qwen2 = cfg["model_type"] == "qwen2"
    bias = qwen2 or cfg.get("attention_bias", False)
    o_bias = (not qwen2) and cfg.get("attention_bias", False)
    T = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        lin = lambda name, t, b: t @ w[p + name + ".weight"].T + (w[p + name + ".bias"] if b else 0)
        q = lin("self_attn.q_proj", h, bias).view(T, heads, head_dim).transpose(0, 1)
        k = lin("self_attn.k_proj", h, bias).view(T, kv_heads, head_dim).transpose(0, 1)
        v = lin("self_attn.v_proj", h, bias).view(T, kv_heads, head_dim).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = heads // kv_heads
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / head_dim**0.5 + mask, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(T, heads * head_dim)
        x = x + lin("self_attn.o_proj", o, o_bias)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T


def main():
    cfg, w = load(sys.argv[1])
    seqs = json.loads(sys.argv[2])
    with torch.no_grad():
        out = [forward(cfg, w, s).tolist() for s in seqs]
    json.dump({"logits": out}, sys.stdout)


if __name__ == "__main__":
    main()
