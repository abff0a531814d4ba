"""Dev-time parity check, part 2: loads each checkpoint written by dump.ts
into a PyTorch Llama/Qwen2 written from the Hugging Face definitions, runs
the same batch, and prints the max relative error of logits, loss and every
gradient against ours. Needs only torch + numpy (Debian python3-torch)."""
import json, math, struct, sys, os
import numpy as np
import torch
import torch.nn.functional as F

def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32", v["dtype"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).copy().reshape(v["shape"]))
    return out

def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

def rot(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)

def forward(c, P, ids):
    B, T = ids.shape
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    D = c["hidden_size"] // H
    eps = c["rms_norm_eps"]
    inv = 1.0 / c["rope_theta"] ** (torch.arange(0, D, 2).float() / D)
    fr = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat([fr, fr], -1)
    cos, sin = emb.cos(), emb.sin()
    x = P["model.embed_tokens.weight"][ids]
    lin = lambda h, n: F.linear(h, P[n + ".weight"], P.get(n + ".bias"))
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}"
        h = rms(x, P[p + ".input_layernorm.weight"], eps)
        q = lin(h, p + ".self_attn.q_proj").view(B, T, H, D).transpose(1, 2)
        k = lin(h, p + ".self_attn.k_proj").view(B, T, Hkv, D).transpose(1, 2)
        v = lin(h, p + ".self_attn.v_proj").view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        k = k.repeat_interleave(H // Hkv, 1); v = v.repeat_interleave(H // Hkv, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + lin(y, p + ".self_attn.o_proj")
        h = rms(x, P[p + ".post_attention_layernorm.weight"], eps)
        x = x + lin(F.silu(lin(h, p + ".mlp.gate_proj")) * lin(h, p + ".mlp.up_proj"), p + ".mlp.down_proj")
    head = P.get("lm_head.weight", P["model.embed_tokens.weight"])
    return F.linear(rms(x, P["model.norm.weight"], eps), head)

def rel(a, b):
    return float((a - b).abs().max() / (b.abs().max() + 1e-12))

root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gvm-parity"
worst = 0.0
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    c = json.load(open(os.path.join(d, "model", "config.json")))
    P = {k: v.requires_grad_() for k, v in read_st(os.path.join(d, "model", "model.safetensors")).items()}
    ours = read_st(os.path.join(d, "ours.safetensors"))
    ids = ours["ids"].long(); tg = ours["targets"].long()
    logits = forward(c, P, ids)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.reshape(-1), ignore_index=-1)
    loss.backward()
    errs = {"logits": rel(ours["logits"], logits.detach()), "loss": rel(ours["loss"], loss.detach().reshape(1))}
    g = max(rel(ours["grad." + n], t.grad) for n, t in P.items())
    errs["grads"] = g
    worst = max(worst, *errs.values())
    print(json.dumps({"variant": name, **{k: float(f"{v:.2e}") for k, v in errs.items()}}))
print(json.dumps({"max_relative_error": float(f"{worst:.2e}")}))
