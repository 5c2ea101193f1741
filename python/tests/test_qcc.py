"""The qcc Python package against independent references: the Fashion-MNIST
labels, ONNX Runtime on the FP32 model and on qcc's QDQ export, the ONNX
graph itself (read with the onnx package), and the qcc command-line tool on
the same samples from a file. Run after `pip install .`:

    python -m pytest python/tests

QCC_BIN (default build/bin) locates the command-line tools."""
import gzip
import json
import os
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import qcc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "examples", "fashion_mnist_cnn.onnx")
INFO = json.load(open(os.path.join(ROOT, "examples", "fashion_mnist_cnn.json")))
BIN = os.environ.get("QCC_BIN", os.path.join(ROOT, "build", "bin"))
DATA = "/usr/share/datasets/fashion-mnist"
SHAPE = {"input": [1, 1, 28, 28]}


def images(kind, count):
    prefix = "train" if kind == "train" else "t10k"
    with gzip.open(f"{DATA}/{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 1, 28, 28)[:count]
    with gzip.open(f"{DATA}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    x = ((x.astype(np.float32) / 255.0 - INFO["mean"]) / INFO["std"]).astype(np.float32)
    return x, labels


@pytest.fixture(scope="module")
def calib():
    x, _ = images("train", 40)
    return [{"input": sample} for sample in x]


@pytest.fixture(scope="module")
def int8(calib):
    return qcc.quantize(MODEL, calib, scheme="int8", input_shapes=SHAPE, progress=False)


@pytest.fixture(scope="module")
def test_set():
    return images("test", 300)


def ort_run(path_or_bytes, x):
    session = ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: sample})[0] for sample in x])


def test_in_memory_calibration_equals_the_cli_on_the_same_samples(int8, calib, tmp_path):
    np.save(tmp_path / "calib.npy", np.stack([s["input"] for s in calib]))
    out = tmp_path / "cli.mlir"
    subprocess.run([os.path.join(BIN, "qcc"), "quantize", MODEL,
                    f"--calib={tmp_path / 'calib.npy'}", "--input-shape=input=1x1x28x28",
                    "--quiet", "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
    assert int8.mlir == out.read_text()


def test_report_describes_every_layer_of_the_onnx_graph(int8):
    graph = onnx.load(MODEL).graph
    layers = [n.name for n in graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    initializers = {i.name: i for i in graph.initializer}
    weights = sum(int(np.prod(initializers[n.input[1]].dims))
                  for n in graph.node if n.op_type in ("Conv", "Gemm", "MatMul"))
    report = int8.report
    assert report["scheme"] == "int8"
    assert sorted(src for layer in report["layers"] for src in layer["sources"]
                  if src in layers) == sorted(layers)
    assert all(layer["format"] == "i8" for layer in report["layers"])
    assert sum(layer["weight_elements"] for layer in report["layers"]) == weights
    # int8 weights with one f32 scale per output channel: about a quarter.
    assert report["bytes_quantized"] < report["bytes_fp32"] / 3.5
    metrics = {m["name"]: m["value"] for m in report["metrics"]}
    assert metrics["samples measured"] == 8  # a fifth of 40 held out
    assert "<svg" in int8.report_html


def test_compiled_int8_keeps_accuracy_against_labels_and_onnxruntime(int8, test_set):
    x, labels = test_set
    runtime = qcc.Runtime(qcc.compile(int8))
    got = np.concatenate([runtime.run({"input": sample})["logits"] for sample in x])
    fp32 = ort_run(MODEL, x)
    accuracy = float(np.mean(got.argmax(1) == labels))
    reference = float(np.mean(fp32.argmax(1) == labels))
    assert accuracy >= reference - 0.02, (accuracy, reference)
    assert np.mean(got.argmax(1) == fp32.argmax(1)) >= 0.97


def test_qdq_export_runs_in_onnxruntime_like_the_compiled_package(int8, test_set, tmp_path):
    x, _ = test_set
    path = int8.save(tmp_path / "int8.onnx")
    qdq = ort_run(str(path), x[:100])
    package = qcc.Runtime(int8.save(tmp_path / "int8.qpkg"))
    got = np.concatenate([package.run(sample)["logits"] for sample in x[:100]])
    assert np.mean(qdq.argmax(1) == got.argmax(1)) >= 0.97
    assert np.corrcoef(qdq.ravel(), got.ravel())[0, 1] > 0.999


def test_model_proto_in_memory_and_its_qdq_export(calib, tmp_path):
    proto = onnx.load(MODEL)
    model = qcc.quantize(proto, calib[:16], input_shapes=SHAPE, holdout=0, progress=False)
    assert model.report["calibration"] == "minmax, 16 samples"
    path = model.save(tmp_path / "from-memory.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [n.op_type for n in onnx.load(str(path)).graph.node].count("QuantizeLinear") > 0
    assert session.run(None, {"input": calib[0]["input"]})[0].shape == (1, 10)


def test_weight_only_needs_no_calibration(tmp_path):
    model = qcc.quantize(MODEL, scheme="w4a16", group_size=16, input_shapes=SHAPE)
    formats = {layer["name"]: layer["format"] for layer in model.report["layers"]}
    # The first conv reduces over 1 input channel x 3 x 3 = 9: not a multiple
    # of 16, so it stays float (as qcc quantize reports too).
    assert formats["/features/features.0/Conv"] == "f32"
    assert "i4" in formats.values()


def test_w8a16_runs_int8_weights_in_place_like_onnxruntime_on_its_export(test_set, tmp_path):
    """W8A16: int8 weights per output channel, float activations, no
    calibration. The Gemm layers compile to the weight-only kernel, so the
    f32 weights never exist: the package's arena stays below the FP32
    model's. ONNX Runtime on qcc's own QDQ export (DequantizeLinear then
    float layers) is the reference; labels bound the accuracy."""
    x, labels = test_set
    model = qcc.quantize(MODEL, scheme="w8a16", input_shapes=SHAPE)
    assert {layer["format"] for layer in model.report["layers"]} == {"i8"}
    assert {layer["activations"] for layer in model.report["layers"]} == {"f32"}
    package = qcc.compile(model)
    assert "2 runtime kernels" in package.summary, package.summary
    got = np.concatenate([qcc.Runtime(package).run({"input": s})["logits"] for s in x[:100]])
    qdq = ort_run(str(model.save(tmp_path / "w8a16.onnx")), x[:100])
    # Both are float paths over the same dequantized weights: only the
    # order of the f32 sums differs.
    np.testing.assert_allclose(got, qdq, rtol=1e-4, atol=1e-4)
    fp32 = ort_run(MODEL, x)
    runtime = qcc.Runtime(package)
    all_logits = np.concatenate([runtime.run({"input": s})["logits"] for s in x])
    accuracy = float(np.mean(all_logits.argmax(1) == labels))
    reference = float(np.mean(fp32.argmax(1) == labels))
    assert accuracy >= reference - 0.01, (accuracy, reference)


def test_fp8_matches_onnxruntime_on_its_export_and_compiles_for_cuda(calib, test_set, tmp_path):
    """FP8 E4M3 weights and static activations. ONNX Runtime runs qcc's QDQ
    export (opset 19 float8e4m3fn Q/DQ) as the independent reference for the
    reference interpreter's FP8 arithmetic, and its accuracy is checked
    against the labels. ORT's graph optimizations are off: its QDQ
    propagation moves the FP8 Q/DQ around MaxPool, which has no FP8 kernel."""
    x, labels = test_set
    model = qcc.quantize(MODEL, calib, scheme="fp8", input_shapes=SHAPE, progress=False)
    assert {layer["format"] for layer in model.report["layers"]} == {"f8e4m3fn"}
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(model.save(tmp_path / "fp8.onnx")), options,
                                   providers=["CPUExecutionProvider"])
    exported = np.concatenate([session.run(None, {"input": s})[0] for s in x])
    np.save(tmp_path / "x.npy", x[:20])
    subprocess.run([os.path.join(BIN, "qrun"), "--reference", str(model.save(tmp_path / "fp8.mlir")),
                    f"--input=input={tmp_path / 'x.npy'}", "--stacked",
                    f"--output-dir={tmp_path / 'ref'}"], check=True, stdout=subprocess.DEVNULL)
    reference = np.load(tmp_path / "ref" / "logits.npy")
    np.testing.assert_allclose(reference, exported[:20], rtol=1e-4, atol=1e-4)
    fp32 = ort_run(MODEL, x)
    accuracy = float(np.mean(exported.argmax(1) == labels))
    assert accuracy >= float(np.mean(fp32.argmax(1) == labels)) - 0.01
    # FP8 layers have CUDA kernels only: the CPU backend says so.
    with pytest.raises(qcc.Error, match="target=cuda"):
        qcc.compile(model)
    assert "kernels" in qcc.compile(model, target="cuda").summary


def test_mixed_precision_stays_under_the_size_budget(calib):
    model = qcc.quantize(MODEL, calib, scheme="mixed", size_budget="6bits", group_size=32,
                         input_shapes=SHAPE, progress=False)
    report = model.report
    elements = sum(layer["weight_elements"] for layer in report["layers"])
    assert sum(layer["bytes"] for layer in report["layers"]) <= 6 * elements / 8
    assert any(point["chosen"] for point in report["frontier"])


def test_progress_reports_every_calibration_sample(calib):
    seen = []
    qcc.quantize(MODEL, calib[:12], input_shapes=SHAPE, holdout=0,
                 progress=lambda *event: seen.append(event))
    finished = [e for e in seen if e[0] == "calibrating" and e[3]]
    assert finished == [("calibrating", 12, 12, True)]


def test_progress_bar_draws_on_stderr(calib, capfd):
    qcc.quantize(MODEL, calib[:6], input_shapes=SHAPE, holdout=0)
    assert "calibrating [########################] 6/6" in capfd.readouterr().err


def test_errors_are_raised_with_diagnostics(calib, tmp_path):
    with pytest.raises(qcc.Error, match="--scheme must be int8"):
        qcc.quantize(MODEL, calib, scheme="int3", input_shapes=SHAPE)
    with pytest.raises(qcc.Error, match="unknown quantize option 'bits'"):
        qcc.quantize(MODEL, calib, bits=4, input_shapes=SHAPE)
    with pytest.raises(qcc.Error, match="array 'image' feeds no model input"):
        qcc.quantize(MODEL, [{"input": calib[0]["input"], "image": calib[0]["input"]}],
                     input_shapes=SHAPE)
    with pytest.raises(qcc.Error, match="has shape 1x1x1x27x28, expected 1x1x28x28"):
        qcc.quantize(MODEL, [{"input": np.zeros((1, 1, 1, 27, 28), np.float32)}],
                     input_shapes=SHAPE)
    with pytest.raises(qcc.Error, match="needs calibration samples"):
        qcc.quantize(MODEL, scheme="int8", input_shapes=SHAPE)
    with pytest.raises(qcc.Error):
        qcc.load(b"not an onnx model")
    with pytest.raises(qcc.Error, match="no such file|cannot open|No such file"):
        qcc.Runtime(tmp_path / "missing.qpkg")
    # Nothing is left behind when saving fails.
    with pytest.raises(qcc.Error, match="use .mlir, .onnx or .qpkg"):
        qcc.load(MODEL, SHAPE).save(tmp_path / "model.txt")
    assert not list(tmp_path.iterdir())


def test_node_level_diagnostics_name_the_onnx_node(tmp_path):
    proto = onnx.load(MODEL)
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    conv.op_type = "ConvolutionThatDoesNotExist"
    with pytest.raises(qcc.Error) as info:
        qcc.load(proto, SHAPE)
    assert conv.name in str(info.value)
    assert "ConvolutionThatDoesNotExist" in str(info.value)


def test_runtime_writes_outputs_in_place_and_checks_inputs(int8, test_set):
    x, _ = test_set
    runtime = qcc.Runtime(qcc.compile(int8), threads=1)
    assert runtime.inputs == [("input", np.dtype("float32"), (1, 1, 28, 28))]
    fresh = runtime.run({"input": x[0]})["logits"]
    buffer = np.zeros((1, 10), np.float32)
    result = runtime.run({"input": x[0]}, out={"logits": buffer})
    assert result["logits"] is buffer
    np.testing.assert_array_equal(buffer, fresh)
    # A float64 or non-contiguous input is converted, with the same result.
    np.testing.assert_array_equal(runtime.run(x[0].astype(np.float64))["logits"], fresh)
    wide = np.zeros((1, 1, 28, 56), np.float32)
    wide[..., ::2] = x[0]
    np.testing.assert_array_equal(runtime.run(wide[..., ::2])["logits"], fresh)
    with pytest.raises(qcc.Error, match="has shape"):
        runtime.run(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(qcc.Error, match="no model input named"):
        runtime.run({"image": x[0]})
    with pytest.raises(qcc.Error, match="must be a writable C-contiguous"):
        runtime.run(x[0], out={"logits": np.zeros((10,), np.float32)})
