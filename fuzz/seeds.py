#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz harness from real files: models and tokenizers in ../shared and models/,
the job files, the test fixtures and SEAL's reference data, each cut down to a few KB (libFuzzer mutates small
inputs far faster, and a header keeps its structure when the data behind it shrinks). Python's standard library only.

    fuzz/seeds.py OUT_DIR          writes OUT_DIR/<harness>/seed-*
"""
import glob, json, os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
out_root = sys.argv[1]
count = {}


def put(harness, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out_root, harness, "seeds")
    os.makedirs(d, exist_ok=True)
    n = count.get(harness, 0)
    count[harness] = n + 1
    with open(os.path.join(d, "seed-%03d%s" % (n, "-" + name if name else "")), "wb") as f:
        f.write(data)


def files(*patterns):
    seen = []
    for p in patterns:
        seen += sorted(glob.glob(os.path.join(ROOT, p), recursive=True))
    return [f for f in seen if os.path.isfile(f)]


def read(path):
    with open(path, "rb") as f:
        return f.read()


# --- safetensors: real headers with every shape shrunk (rank kept) and the data rewritten to fit; plus synthetic.
def safetensors(tensors, metadata=None, align=8):
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        size = {"F32": 4, "BF16": 2, "F16": 2}.get(dtype, 4)
        n = 1
        for d in shape:
            n *= d
        begin = len(blob)
        blob += bytes((i * 37 + 11) % 256 for i in range(n * size))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, len(blob)]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % align)
    return struct.pack("<Q", len(h)) + h + blob


for path in files("../shared/models/*/model.safetensors", "models/*/model.safetensors", "Tests/Fixtures/**/*.safetensors"):
    raw = read(path)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    names = sorted(header)[:12]
    shrunk = [(k, header[k]["dtype"], [min(d, 3) for d in header[k]["shape"]]) for k in names]
    put("safetensors", safetensors(shrunk, meta), os.path.basename(os.path.dirname(path)))
put("safetensors", safetensors([("a", "F32", [2, 3]), ("b", "BF16", [4]), ("c", "F16", [1, 1, 2])], {"format": "pt"}))
put("safetensors", safetensors([("scalar", "F32", []), ("empty", "F32", [0, 5])]))
put("safetensors", safetensors([]))

# --- config.json: every real model config.
for path in files("../shared/models/*/config.json", "../shared/models/configs/*.json", "models/*/config.json", "jobs/*-model.json"):
    put("model-config", read(path), os.path.basename(path))
# model-load: only configs the linked TinyStories-656K weights can nearly satisfy; a real 1B config would allocate
# its 5 GB buffer before the missing tensors are found (a finding, kept in Tests/Fixtures/fuzz/model-load/).
for path in files("../shared/models/tinystories-656k/config.json", "models/toyworld/config.json"):
    put("model-load", read(path), os.path.basename(os.path.dirname(path)))


# --- tokenizer.json: the small real ones whole; the large ones cut to their first ids (merges kept when whole).
def shrink_tokenizer(tok, keep=400):
    m = tok.get("model", {})
    vocab = m.get("vocab")
    if isinstance(vocab, dict):
        m["vocab"] = {t: i for t, i in vocab.items() if i < keep}
        kept = set(m["vocab"])
        merges = []
        for mg in m.get("merges", []):
            parts = mg.split(" ") if isinstance(mg, str) else mg
            if len(parts) == 2 and parts[0] in kept and parts[1] in kept and parts[0] + parts[1] in kept:
                merges.append(mg)
        m["merges"] = merges[:keep]
    tok["added_tokens"] = [a for a in tok.get("added_tokens", []) if a.get("id", 0) < keep + 64][:16]
    return tok


tokenizer_paths = files("../shared/models/*/tokenizer.json", "models/*/tokenizer.json")
for path in tokenizer_paths:
    raw = read(path)
    if len(raw) <= 40_000:
        put("tokenizer-json", raw, os.path.basename(os.path.dirname(path)))
    put("tokenizer-json", json.dumps(shrink_tokenizer(json.loads(raw)), ensure_ascii=False), "small-" + os.path.basename(os.path.dirname(path)))
for path in files("Tests/Fixtures/tokenizer/*.json"):
    fx = json.loads(read(path))
    if isinstance(fx, dict) and isinstance(fx.get("tokenizer_json"), str):
        put("tokenizer-json", json.dumps(shrink_tokenizer(json.loads(fx["tokenizer_json"])), ensure_ascii=False),
            "fixture-" + os.path.basename(path))
    # the fixture's texts are the encode harness's seeds
    for case in (fx.get("cases") or [])[:20] if isinstance(fx, dict) else []:
        if isinstance(case, dict) and isinstance(case.get("text"), str) and len(case["text"]) < 4000:
            put("tokenizer-encode", case["text"])
for text in ["Hello world", "  leading and trailing  ", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
             "日本語のテキスト", "emoji 🙂👍🏽 and combining é", "tabs\tand\nnewlines\r\n", "1234567890 3.14159",
             "don't won't it's we're", "\u0000\u0001\u007f", "a" * 300, "<|endoftext|>", "<s></s>"]:
    put("tokenizer-encode", text)
readme = read(os.path.join(ROOT, "README.md")).decode()
for i in range(0, min(len(readme), 12000), 1500):
    put("tokenizer-encode", readme[i:i + 1500])

# --- TOML / job files (both the TOML reader and the config resolution).
for path in files("jobs/*.toml", "slurm/**/*.toml", "Tests/Fixtures/**/*.toml"):
    put("toml", read(path), os.path.basename(path))
    put("config", read(path), os.path.basename(path))
# (Inputs known to crash — lr = nan, issue 14 — are regression fixtures, not seeds: a crashing seed stops the run.)
for t in ['[run]\nrounds = -1\nthreads = 100000\n', '[inner]\nlora_targets = "q_proj"\n', '[inner]\nlr = 1e-3\n',
          'x = [1, [2, 3], {a = 1}]\n', 's = """multi\nline"""\n', "t = 'lit'\n", '[[arr]]\nk = 1\n']:
    put("toml", t)
    put("config", t)


# --- JSONL training rows: the reference SFT data cut to a few rows, and the edge cases the issue lists.
def head_lines(path, n=4, width=1500):
    lines = read(path).decode("utf-8", "replace").splitlines()[:n]
    return "\n".join(l[:width] for l in lines) + "\n"


for path in files("../shared/data/seal-reference/**/*.jsonl"):
    put("jsonl", head_lines(path), os.path.basename(path))
for t in ['{"text": "hello world"}\n', '{"prompt": "Q: 2+2?", "completion": " 4"}\r\n{"text": "crlf"}\r\n',
          '\n\n{"text": "after blanks"}\n', '{"text": "both", "prompt": "p", "completion": "c"}\n', '{"text": ""}\n',
          '{"text": "\\u00e9\\ud83d\\ude42"}\n']:
    put("jsonl", t)

# --- verdict JSONL for the grade harness: rows made from SEAL's query_server results (GPT-4.1's verdicts).
rows = []
for path in files("../shared/data/seal-reference/knowledge-incorporation/results/query_server/eval/*.json")[:2]:
    root = json.loads(read(path))
    arts = []
    for art in root.get("articles", [])[:2]:
        comps = []
        for comp in (art.get("completions") or [])[:1]:
            qs = [{k: (v[:400] if isinstance(v, str) else v) for k, v in q.items()} for q in (comp.get("questions") or [])[:3]]
            comps.append({"text": comp.get("text", "")[:400], "questions": qs})
            for q in qs:
                for kind in ["baseline", "adapter"]:
                    if kind + "_answer" in q:
                        rows.append({"question": q.get("question", ""), "gold": q.get("answer", ""), "prediction": q[kind + "_answer"],
                                     "correct": bool(q.get(kind + "_correct")), "passage": art.get("title", "")})
        arts.append({"title": art.get("title", ""), "context": art.get("context", "")[:600], "completions": comps})
    put("grade", json.dumps({"articles": arts}, ensure_ascii=False), "articles-" + os.path.basename(path))
rows += [{"question": "Who wrote Hamlet?", "gold": "William Shakespeare", "prediction": "It was Shakespeare.", "correct": True},
         {"question": "When?", "gold": "1999", "prediction": "in 1998", "correct": False},
         {"question": "Q", "gold": "the a an", "prediction": "the " * 200, "correct": False}]
for i in range(0, len(rows), 3):
    put("grade", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[i:i + 3]))

# --- passages (SEAL's schema and the official SQuAD layout) and self-edit files.
for path in (files("../shared/data/seal-reference/knowledge-incorporation/data/*.json")
             + files("../shared/data/seal-reference/knowledge-incorporation/data/synthetic_data/**/*.json")[:4]):
    root = json.loads(read(path))
    if isinstance(root, list):
        put("passages", json.dumps(root[:2], ensure_ascii=False)[:6000] if len(json.dumps(root[:2])) < 6000 else json.dumps(
            [{k: (v[:600] if isinstance(v, str) else v[:2] if isinstance(v, list) else v) for k, v in e.items()} for e in root[:2]
             if isinstance(e, dict)], ensure_ascii=False), os.path.basename(path))
put("passages", json.dumps([{"title": "T", "context": "C is a letter.", "questions": [{"question": "What is C?", "answer": ["a letter", "letter"]}],
                             "completions": ["C is a letter."], "prompt": "p"}]))
put("passages", json.dumps({"data": [{"title": "Super_Bowl_50", "paragraphs": [{"context": "ctx", "qas": [
    {"question": "q?", "answers": [{"text": "a"}]}, {"question": "none?", "answers": [], "is_impossible": True}]}]}]}))

# --- ARC tasks: single task files cut from the ARC-AGI challenges.
for path in files("../shared/data/seal-reference/few-shot/data/arc-agi_training_challenges.json",
                  "../shared/data/seal-reference/few-shot/data/arc-agi_evaluation_challenges.json"):
    root = json.loads(read(path))
    for tid in sorted(root)[:6]:
        put("arc-tasks", json.dumps(root[tid], separators=(",", ":")), tid)
put("arc-tasks", '{"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[0, 1], [1, 0]]}]}')

# --- serve-request: OpenAI-style request bodies as the official client sends them.
for body in [
    {"model": "seal-fuzz", "messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 16},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
     "temperature": 0.7, "top_p": 0.9, "n": 2, "seed": 7, "stop": ["\n", "END"], "stream": True,
     "stream_options": {"include_usage": True}},
    {"model": "seal-fuzz", "prompt": ["Once upon a time", "The end"], "max_completion_tokens": 8, "temperature": 0, "stop": "."},
    {"prompt": "x", "max_tokens": None, "seed": None, "n": 1, "stream": False, "logprobs": None},
]:
    put("serve-request", json.dumps(body))

# --- GGUF: small files written here (stdlib only): metadata of every value type, one tensor of every type seal
# dequantizes, tiny llama and qwen2 models (Q4_0/Q8_0/F32, a tied and an untied head), and the header of each
# committed fixture (the part before its data section, which libFuzzer mutates best).
gguf_tokens = {"GGUF", "general.architecture", "general.alignment", "tokenizer.ggml.tokens", "tokenizer.ggml.model",
               "tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token"}


def gguf_value(t, v):
    if t == 8:
        b = v.encode() if isinstance(v, str) else v
        return struct.pack("<Q", len(b)) + b
    if t == 9:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gguf_value(et, x) for x in items)
    return struct.pack("<" + {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}[t], v)


def gguf_file(metadata, tensors, align=32):
    """metadata: [(key, type, value)]; tensors: [(name, dims (ggml order), ggml type, raw bytes)]."""
    kv = b"".join(gguf_value(8, k) + struct.pack("<I", t) + gguf_value(t, v) for k, t, v in metadata)
    infos, data = b"", b""
    for name, dims, gt, raw in tensors:
        infos += gguf_value(8, name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", gt, len(data))
        data += raw + b"\0" * (-len(raw) % align)
        gguf_tokens.add(name)
    gguf_tokens.update(k for k, _, _ in metadata)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)) + kv + infos
    return head + b"\0" * (-len(head) % align) + data


def gguf_blocks(gt, n):
    """n elements of ggml type gt as valid blocks: pseudo-random quants, a small f16 scale (0x2000 ≈ 0.0078)."""
    bs, ts, scales = {0: (1, 4, []), 1: (1, 2, []), 30: (1, 2, []), 8: (32, 34, [0]), 2: (32, 18, [0]), 3: (32, 20, [0, 2]),
                      6: (32, 22, [0]), 7: (32, 24, [0, 2]), 10: (256, 84, [80, 82]), 11: (256, 110, [108]),
                      12: (256, 144, [0, 2]), 13: (256, 176, [0, 2]), 14: (256, 210, [208])}[gt]
    out = b""
    for b in range(n // bs):
        blk = bytearray((i * 73 + b * 29 + gt * 11) % 256 for i in range(ts))
        for off in scales:
            blk[off:off + 2] = struct.pack("<H", 0x2000)
        if gt == 0:
            blk = bytearray(struct.pack("<f", 0.01 * ((b % 7) - 3)))
        elif gt in (1, 30):
            blk = bytearray(struct.pack("<H", 0x2000 + b % 64))
        out += bytes(blk)
    return out


every_meta = [("general.architecture", 8, "llama"), ("t.u8", 0, 7), ("t.i8", 1, -7), ("t.u16", 2, 700), ("t.i16", 3, -700),
              ("t.u32", 4, 70000), ("t.i32", 5, -70000), ("t.f32", 6, 0.5), ("t.bool", 7, True), ("t.str", 8, "ü"),
              ("t.u64", 10, 2 ** 40), ("t.i64", 11, -2 ** 40), ("t.f64", 12, 0.25), ("t.strings", 9, (8, ["a", "bc"])),
              ("t.nested", 9, (9, [(4, [1, 2]), (8, ["x"])])), ("general.alignment", 4, 32)]
put("gguf", gguf_file(every_meta, []), "metadata")
put("gguf", gguf_file([("general.alignment", 4, 64)], [("t.%d" % gt, [256, 1], gt, gguf_blocks(gt, 256))
                                                       for gt in (0, 1, 30, 8, 2, 3, 6, 7, 10, 11, 12, 13, 14)], align=64), "types")


def gguf_model(arch, tied, bias):
    D, I, H, KV, HD, V = 32, 32, 2, 1, 16, 8
    meta = [("general.architecture", 8, arch), (arch + ".context_length", 4, 64), (arch + ".embedding_length", 4, D),
            (arch + ".feed_forward_length", 4, I), (arch + ".block_count", 4, 1), (arch + ".attention.head_count", 4, H),
            (arch + ".attention.head_count_kv", 4, KV), (arch + ".rope.dimension_count", 4, HD),
            (arch + ".rope.freq_base", 6, 10000.0), (arch + ".attention.layer_norm_rms_epsilon", 6, 1e-5),
            ("tokenizer.ggml.model", 8, "gpt2"), ("tokenizer.ggml.tokens", 9, (8, ["t%d" % i for i in range(V)])),
            ("tokenizer.ggml.bos_token_id", 4, 1), ("tokenizer.ggml.add_bos_token", 7, False)]
    f32 = lambda n: gguf_blocks(0, n)
    ts = [("token_embd.weight", [D, V], 8, gguf_blocks(8, D * V)), ("blk.0.attn_norm.weight", [D], 0, f32(D)),
          ("blk.0.attn_q.weight", [D, H * HD], 2, gguf_blocks(2, D * H * HD)),
          ("blk.0.attn_k.weight", [D, KV * HD], 2, gguf_blocks(2, D * KV * HD)),
          ("blk.0.attn_v.weight", [D, KV * HD], 8, gguf_blocks(8, D * KV * HD)),
          ("blk.0.attn_output.weight", [H * HD, D], 2, gguf_blocks(2, D * H * HD)), ("blk.0.ffn_norm.weight", [D], 0, f32(D)),
          ("blk.0.ffn_gate.weight", [D, I], 2, gguf_blocks(2, D * I)), ("blk.0.ffn_up.weight", [D, I], 2, gguf_blocks(2, D * I)),
          ("blk.0.ffn_down.weight", [I, D], 2, gguf_blocks(2, D * I)), ("output_norm.weight", [D], 0, f32(D))]
    if bias:
        ts += [("blk.0.attn_q.bias", [H * HD], 0, f32(H * HD)), ("blk.0.attn_k.bias", [KV * HD], 0, f32(KV * HD)),
               ("blk.0.attn_v.bias", [KV * HD], 0, f32(KV * HD))]
    if not tied:
        ts.append(("output.weight", [D, V], 2, gguf_blocks(2, D * V)))
    return gguf_file(meta, ts)


put("gguf", gguf_model("llama", tied=True, bias=False), "llama")
put("gguf", gguf_model("qwen2", tied=False, bias=True), "qwen2")
for path in files("Tests/Fixtures/gguf/*.gguf", "models/*/*.gguf"):
    raw = read(path)
    if len(raw) <= 16384:
        put("gguf", raw, os.path.basename(path))
    elif path.startswith(os.path.join(ROOT, "Tests")):
        put("gguf", raw[:16384], "head-" + os.path.basename(path))

for h in sorted(count):
    print("%-18s %d seeds" % (h, count[h]))


# --- dictionaries (-dict): the keys and short string values of each harness's seeds, and the numbers at the edges
# (libFuzzer cannot see Foundation's JSON parser compare them, so it would rarely guess 2^63 or a key name).
EDGE_NUMBERS = ["0", "-0", "1", "-1", "2147483648", "4294967296", "4611686018427387904", "9223372036854775807",
                "9223372036854775808", "-9223372036854775808", "18446744073709551616", "1e19", "1e20", "1e308", "1e400",
                "-1e400", "1e-400", "0.5", "2.9", "nan", "inf", "-inf", "NaN", "Infinity", "1e12", "100000", "65536",
                "true", "false", "null"]


def strings_of(obj, out, depth=0):
    if depth > 12:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(k)
            strings_of(v, out, depth + 1)
    elif isinstance(obj, list):
        for v in obj[:50]:
            strings_of(v, out, depth + 1)
    elif isinstance(obj, str) and len(obj) <= 24:
        out.add(obj)


def dict_entry(s):
    return '"' + "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "\\x%02x" % b
                         for c in s for b in ([ord(c)] if ord(c) < 128 else c.encode())) + '"'


for harness in count:
    tokens = set(EDGE_NUMBERS)
    seed_dir = os.path.join(out_root, harness, "seeds")
    for name in sorted(os.listdir(seed_dir)):
        raw = read(os.path.join(seed_dir, name))
        if harness == "safetensors" and len(raw) >= 8:
            raw = raw[8:8 + struct.unpack("<Q", raw[:8])[0]]
        for line in [raw] + raw.splitlines()[:200]:
            try:
                strings_of(json.loads(line), tokens)
            except Exception:
                pass
        if harness == "gguf":
            tokens |= gguf_tokens
        if harness in ("toml", "config"):
            for line in raw.decode("utf-8", "replace").splitlines():
                key = line.split("=")[0].strip()
                if key and len(key) <= 40 and not key.startswith("#"):
                    tokens.add(key)
    tokens = sorted(t for t in tokens if 0 < len(t.encode()) <= 40)[:3000]
    with open(os.path.join(out_root, harness, "dict"), "w") as f:
        f.write("".join(dict_entry(t) + "\n" for t in tokens))
