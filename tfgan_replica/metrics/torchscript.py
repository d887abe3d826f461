"""Read the tensors of a TorchScript archive without torch.

A TorchScript file is a zip archive: `<root>/data.pkl` pickles the module tree and
refers to raw little-endian tensor storages stored as `<root>/data/<key>`.
Unpickling runs code named by the pickle, so the archive is read with a restricted
unpickler that resolves only the handful of names a module of plain float tensors
needs, and refuses everything else before it can run.
"""

import collections
import io
import pickle
import zipfile

import numpy as np

from tfgan_replica.errors import InputError

_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


class UnsafePickleError(pickle.UnpicklingError):
    """The archive names something other than plain tensors and module records."""


class ModuleRecord:
    """Inert stand-in for a scripted module: keeps its type name and attributes."""

    type_name = "?"

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise UnsafePickleError(f"unexpected state for module {self.type_name}: {type(state)}")
        self.attributes = state

    def __repr__(self):
        return f"ModuleRecord({self.type_name})"


def _record_class(module, name):
    return type(name, (ModuleRecord,), {"type_name": f"{module}.{name}"})


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    del requires_grad, hooks, metadata  # autograd details, meaningless here
    itemsize = storage.dtype.itemsize
    if size and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= storage.size:
        raise pickle.UnpicklingError(f"tensor of shape {tuple(size)} overruns its storage")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    )
    return np.array(view)


def _build_list(values):
    return list(values)


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only tensor rebuilders, storage types and module records."""

    _ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch.jit._pickle", "build_intlist"): _build_list,
        ("torch.jit._pickle", "build_doublelist"): _build_list,
        ("torch.jit._pickle", "build_boollist"): _build_list,
    }

    def __init__(self, file, archive, root, path):
        super().__init__(file)
        self._archive = archive
        self._root = root
        self._path = path
        self._record_classes = {}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module.startswith("__torch__.") and name.isidentifier():
            key = (module, name)
            if key not in self._record_classes:
                self._record_classes[key] = _record_class(module, name)
            return self._record_classes[key]
        raise UnsafePickleError(
            f"{self._path} asks to load '{module}.{name}', which is not a tensor or module "
            "record; refusing to unpickle it. Use the original FID Inception weights file."
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise UnsafePickleError(f"{self._path}: unexpected persistent id {pid!r}")
        _, dtype, key, _location, numel = pid
        if not isinstance(dtype, np.dtype) or not str(key).isdigit():
            raise UnsafePickleError(f"{self._path}: unexpected storage reference {pid!r}")
        raw = self._archive.read(f"{self._root}/data/{key}")
        if len(raw) < numel * dtype.itemsize:
            raise pickle.UnpicklingError(f"{self._path}: storage {key} is truncated")
        return np.frombuffer(raw, dtype=dtype, count=numel)


def load_module_tree(path):
    """Returns the root `ModuleRecord` of the TorchScript archive at `path`."""
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise InputError(f"{path} is not a TorchScript archive (expected one data.pkl)")
        root = pickles[0].rsplit("/", 1)[0]
        stream = io.BytesIO(archive.read(pickles[0]))
        return _RestrictedUnpickler(stream, archive, root, path).load()


def named_tensors(record, prefix=""):
    """Yields (dotted name, array) for every tensor below `record`, in definition order."""
    for name, value in record.attributes.items():
        full_name = f"{prefix}{name}"
        if isinstance(value, np.ndarray):
            yield full_name, value
        elif isinstance(value, ModuleRecord):
            yield from named_tensors(value, full_name + ".")


def named_modules(record, prefix=""):
    """Yields (dotted name, ModuleRecord) for `record` and every module below it."""
    yield prefix.rstrip("."), record
    for name, value in record.attributes.items():
        if isinstance(value, ModuleRecord):
            yield from named_modules(value, f"{prefix}{name}.")
