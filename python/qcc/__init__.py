"""qcc: quantize, compile and run neural networks from Python.

    import numpy as np, qcc

    calib = [{"input": x} for x in calibration_images]      # numpy arrays
    model = qcc.quantize("model.onnx", calib, scheme="int8")
    print(model.report["layers"][0]["sqnr_db"])
    model.save("model.int8.onnx")                           # QDQ ONNX
    package = qcc.compile(model)                            # for this CPU
    package.save("model.qpkg")
    outputs = qcc.Runtime("model.qpkg").run({"input": x})

Every option of `qcc quantize` and `qcc compile` is a keyword argument
here, with underscores for dashes (group_size=64, calib_method="entropy").
Failures raise qcc.Error, whose .diagnostics name the ONNX node and reason.
"""
import json
import os
import sys

import numpy as np

from . import _qcc

__version__ = _qcc.version()
__all__ = ["Error", "Model", "Package", "Runtime", "load", "quantize", "compile"]


class Error(Exception):
    """A qcc step failed. `diagnostics` holds (severity, location, nodes,
    message) tuples, the location naming the model file and ONNX node."""

    def __init__(self, message, diagnostics=()):
        self.diagnostics = list(diagnostics)
        lines = [message] + [
            f"  {sev}: {loc + ': ' if loc else ''}{msg}"
            for sev, loc, _nodes, msg in self.diagnostics
            if msg != message
        ]
        super().__init__("\n".join(lines))
        self.message = message


def _check(value, error):
    if error is not None:
        raise Error(*error)
    return value


def _shape_dict(input_shapes):
    return {str(k): [int(d) for d in v] for k, v in (input_shapes or {}).items()}


def _arrays(samples, what):
    """Samples as (name, dtype, shape, address) tuples, and the arrays that
    must stay alive while qcc reads them. C-contiguous arrays of a dtype qcc
    reads are used in place; others are copied once."""
    if samples is None:
        return [], []
    keep, tuples = [], []
    for index, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise TypeError(f"{what} sample {index}: expected a dict of input "
                            f"name to numpy array, got {type(sample).__name__}")
        arrays = []
        for name, value in sample.items():
            array = np.asarray(value)
            if array.dtype.kind not in "fiub":
                raise TypeError(f"{what} sample {index}: input '{name}' has "
                                f"dtype {array.dtype}, which is not numeric")
            if not array.dtype.isnative:
                array = array.astype(array.dtype.newbyteorder("="))
            array = np.ascontiguousarray(array)
            keep.append(array)
            arrays.append((str(name), array.dtype.name, list(array.shape),
                           array.ctypes.data))
        tuples.append(arrays)
    return tuples, keep


def _sample_files(samples):
    if isinstance(samples, (str, os.PathLike)):
        return None, os.fspath(samples)
    return samples, ""


def _progress_bar(stream=None):
    """A text progress bar on stderr, redrawn in place."""
    stream = stream or sys.stderr

    def show(stage, done, total, finished):
        width = 24
        filled = width if total <= 0 else min(width, width * done // total)
        count = f"{done}/{total}" if total > 0 else f"{done}"
        stream.write(f"\r{stage} [{'#' * filled}{'.' * (width - filled)}] {count}")
        if finished:
            stream.write("\n")
        stream.flush()

    return show


def _option_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


class Model:
    """A model in qcc's IR: as imported (float) or quantized."""

    def __init__(self, handle):
        self._handle = handle

    @property
    def report(self):
        """The quantization report as a dict (None unless quantized): scheme,
        method, bytes, metrics and one entry per layer with its format,
        bits, bytes and error against FP32."""
        text = self._handle.report_json()
        return None if text is None else json.loads(text)

    @property
    def report_html(self):
        """The report as one self-contained HTML page (None unless quantized)."""
        return self._handle.report_html()

    @property
    def mlir(self):
        """The model as qg IR text, with ONNX node names as locations."""
        return self._handle.mlir()

    @property
    def inputs(self):
        """[(name, shape)], -1 for a symbolic dimension."""
        return [(name, list(shape)) for name, shape in self._handle.inputs()]

    @property
    def warnings(self):
        return list(self._handle.warnings())

    def save(self, path):
        """Writes .onnx (a QDQ model for ONNX Runtime), .mlir or .qpkg
        (compiled for this CPU); the file appears only when complete."""
        _check(None, self._handle.save(os.fspath(path)))
        return path

    def quantize(self, calib=None, *, eval=None, progress=True, **options):
        """See qcc.quantize."""
        calib, calib_files = _sample_files(calib)
        evaluation, eval_files = _sample_files(eval)
        calib_tuples, keep = _arrays(calib, "calibration")
        eval_tuples, keep_eval = _arrays(evaluation, "evaluation")
        if progress is True:
            progress = _progress_bar()
        handle = _check(*self._handle.quantize(
            calib_tuples, calib_files, eval_tuples, eval_files,
            {k: _option_text(v) for k, v in options.items() if v is not None},
            progress or None))
        del keep, keep_eval
        return Model(handle)

    def compile(self, output=None, **options):
        """See qcc.compile."""
        data, summary = _check(*self._handle.compile(
            {k: _option_text(v) for k, v in options.items() if v is not None}))
        package = Package(data, summary)
        if output is not None:
            package.save(output)
        return package


class Package:
    """A compiled model: the bytes of a .qpkg (or of what `emit` asked for)."""

    def __init__(self, data, summary=""):
        self.data = data
        self.summary = summary

    def save(self, path):
        """Writes the bytes; the file appears only when complete."""
        path = os.fspath(path)
        tmp = f"{path}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(self.data)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    def runtime(self, threads=0):
        return Runtime(self, threads=threads)


def load(model, input_shapes=None):
    """Imports a model: an .onnx path, its bytes, an onnx.ModelProto, or a
    .mlir path (qg IR). `input_shapes` fixes symbolic dimensions:
    {"input": [1, 3, 224, 224]}."""
    if isinstance(model, Model):
        return model
    shapes = _shape_dict(input_shapes)
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    if isinstance(model, (bytes, bytearray, memoryview)):
        return Model(_check(*_qcc.Model.import_onnx_bytes(
            bytes(model), "<memory>.onnx", shapes)))
    path = os.fspath(model)
    if path.endswith(".mlir"):
        return Model(_check(*_qcc.Model.parse_mlir(path)))
    return Model(_check(*_qcc.Model.import_onnx(path, shapes)))


def quantize(model, calib=None, *, scheme="int8", method=None,
             size_budget=None, input_shapes=None, eval=None, progress=True,
             **options):
    """Calibrates and quantizes a model; returns a quantized Model.

    model: an .onnx path, its bytes, an onnx.ModelProto or a qcc.Model.
    calib: an iterable of dicts {input name: numpy array} (an array may hold
        a batch along a new first axis), or a path as `qcc quantize --calib`
        takes it. The last fifth (at most 32) is held out to measure the
        report's errors unless `eval` gives other samples.
    scheme: int8, w8a8, w8a16, fp8, w4a16, nf4 or mixed. method: rtn, gptq, awq or
        smoothquant. size_budget: for mixed, bytes ("350kB") or "4.5bits".
    progress: True draws a bar on stderr; a callable gets
        (stage, done, total, finished); False is silent.
    options: any other `qcc quantize` option (group_size=64,
        calib_method="entropy", activations="dynamic", ...).
    """
    calib = list(calib) if calib is not None and not isinstance(
        calib, (str, os.PathLike)) else calib
    eval = list(eval) if eval is not None and not isinstance(
        eval, (str, os.PathLike)) else eval
    return load(model, input_shapes).quantize(
        calib, eval=eval, progress=progress, scheme=scheme, method=method,
        size_budget=size_budget, **options)


def compile(model, output=None, *, target="cpu", input_shapes=None,
            **options):
    """Compiles a model (a qcc.Model, or anything qcc.load takes, compiled
    as it is) into a Package, written to `output` when given.

    target: cpu or cuda. options: cuda_arch="sm_80,sm_90", cpu, cpu_features,
    opt_level, emit (qpkg, or for inspection loops/llvm/ir/so/cuda/ptx).
    """
    return load(model, input_shapes).compile(output, target=target, **options)


class Runtime:
    """Runs a compiled package. One Runtime holds one run context: use one
    per thread.

        rt = qcc.Runtime("model.qpkg")
        outputs = rt.run({"input": x})     # {output name: numpy array}

    Inputs that are C-contiguous and of the input's dtype are read in place;
    others are converted once. Outputs are numpy arrays the runtime writes
    directly, fresh for every run (or the arrays given in `out`).
    """

    def __init__(self, package, threads=0):
        try:
            if isinstance(package, Package):
                self._handle = _qcc.Runtime.load_bytes(package.data, threads)
            elif isinstance(package, (bytes, bytearray)):
                self._handle = _qcc.Runtime.load_bytes(bytes(package), threads)
            else:
                self._handle = _qcc.Runtime.load_file(os.fspath(package), threads)
        except RuntimeError as e:
            raise Error(str(e)) from None
        self.inputs = [(n, np.dtype(d), tuple(s)) for n, d, s in self._handle.inputs()]
        self.outputs = [(n, np.dtype(d), tuple(s)) for n, d, s in self._handle.outputs()]

    @property
    def target(self):
        return self._handle.target()

    @property
    def threads(self):
        return self._handle.threads()

    def run(self, feeds, out=None):
        """feeds: {input name: array}; a model with one input also takes the
        array alone. Returns {output name: array}."""
        if not isinstance(feeds, dict):
            if len(self.inputs) != 1:
                raise TypeError("this model has several inputs: pass a dict")
            feeds = {self.inputs[0][0]: feeds}
        unknown = set(feeds) - {name for name, _, _ in self.inputs}
        if unknown:
            raise Error(f"no model input named {sorted(unknown)}; the inputs "
                        f"are {[n for n, _, _ in self.inputs]}")
        keep, addresses = [], []
        for name, dtype, shape in self.inputs:
            if name not in feeds:
                raise Error(f"missing input '{name}'")
            array = np.asarray(feeds[name])
            if array.shape != shape:
                if array.size != int(np.prod(shape, dtype=np.int64)):
                    raise Error(f"input '{name}' has shape {array.shape}, the "
                                f"model takes {shape}")
                array = array.reshape(shape)
            array = np.ascontiguousarray(array, dtype=dtype)
            keep.append(array)
            addresses.append(array.ctypes.data)
        out = dict(out or {})
        results = {}
        for name, dtype, shape in self.outputs:
            array = out.get(name)
            if array is None:
                array = np.empty(shape, dtype=dtype)
            elif (array.shape != shape or array.dtype != dtype
                  or not array.flags.c_contiguous or not array.flags.writeable):
                raise Error(f"out['{name}'] must be a writable C-contiguous "
                            f"{dtype} array of shape {shape}")
            results[name] = array
        try:
            self._handle.run(addresses, [results[n].ctypes.data
                                         for n, _, _ in self.outputs])
        except RuntimeError as e:
            raise Error(str(e)) from None
        return results
