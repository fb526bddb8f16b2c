/* The fast path of a jitted call, in C: the base type of `tracejit.Jitted`.
 *
 * A cached call of a jitted function should cost little more than the compiled call
 * itself. In Python the key (shape, strides and dtype of each array), the dict lookup
 * and the two Python frames cost about 1 us, more than Numba's whole dispatch. Here
 * `tp_call` builds the key, looks it up and calls the compiled entry point with no
 * Python frame; anything it does not recognise goes to `self.call_general(args,
 * kwargs)`, the general path in Python. `tracejit/fastcall.py` holds the same protocol
 * in pure Python (`PyDispatch`), used where this module was not built, and documents
 * what qualifies for the fast path.
 *
 * The pattern `kinds` gives one byte per positional argument:
 *   'a'  an array: key words  dtype (type number and byte order), flags (aligned,
 *        writeable), ndim, shape, strides; the argument must be exactly np.ndarray
 *   'f'  a traced Python float or complex: key word  its type
 *   's'  a static value: a float or complex, key words  its type and its bits (0.0 and
 *        -0.0 are equal but need other code); exactly an int, a bool, a str or None,
 *        (type, value) in the key; anything else (a tuple: (1, 2) equals (1.0, 2.0))
 *        takes the general path
 * Without static values the key is those words, written on the C stack and looked up
 * in an open-addressing table of word vectors: no allocation and no Python hashing on a
 * call. With static values it is a tuple of the words (as bytes) and each static value's
 * type and value, looked up in a dict. Either maps the key to (run, extra, post): the
 * result is `post(run(*traced_args, *extra))`, or the bare `run(...)` where post is None.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/ndarraytypes.h>

#include <stdint.h>
#include <string.h>

static PyTypeObject *ndarray_type;  /* numpy.ndarray, read at import */
static PyObject *str_call_general;  /* "call_general" */
static PyObject *str_run_failed;    /* "run_failed" */

/* most positional arguments the fast path passes on the C stack */
#define MAX_STACK_ARGS 32
/* most key words (3 + 2 ndim per array, 1 per float, 1 + its bits per static float);
 * longer keys take the general path */
#define MAX_WORDS 512
/* keys remembered at most; later ones take the general path (fastcall.MAX_KEYS) */
#define MAX_KEYS 256
/* slots of the word-vector table: a power of two, twice MAX_KEYS */
#define SLOTS 512

typedef struct {
    uint64_t hash;
    Py_ssize_t nwords;
    Py_ssize_t *words;  /* PyMem_Malloc'd copy of the key */
    PyObject *entry;    /* (run, extra, post); NULL: an empty slot */
} Slot;

typedef struct {
    PyObject_HEAD
    PyObject *kinds;     /* bytes, one kind per position; NULL: no fast path */
    Slot *slots;         /* SLOTS slots for keys without static values, or NULL */
    PyObject *statics;   /* dict for keys with static values */
    Py_ssize_t nkeys;    /* keys in slots and statics together */
    Py_ssize_t hits;     /* calls served by the fast path */
} Dispatch;

/* Whether an array's dtype is told apart by its type number and byte order: bool,
 * the integers, the floats and the complex types; not structured, string, datetime or
 * object dtypes, whose parameters the key would miss. */
static int
plain_dtype(PyArrayObject *arr)
{
    int num = PyArray_DESCR(arr)->type_num;
    return (num >= NPY_BOOL && num <= NPY_CLONGDOUBLE) || num == NPY_HALF;
}

/* A static value keyed by (type, value) in the dict of keys with static values. */
static int
dict_static(PyObject *a)
{
    return PyLong_CheckExact(a) || PyBool_Check(a) || PyUnicode_CheckExact(a) || a == Py_None;
}

/* words a double takes */
#define DOUBLE_WORDS ((sizeof(double) + sizeof(Py_ssize_t) - 1) / sizeof(Py_ssize_t))

/* Writes the key words of `args` under `kinds` into words[MAX_WORDS]: the number of
 * words, or -1 when the arguments do not fit the pattern (a miss). *nstatic counts
 * the static positions, which the words leave out. */
static Py_ssize_t
key_words(PyObject *kinds, PyObject *args, Py_ssize_t *words, Py_ssize_t *nstatic)
{
    const char *kind = PyBytes_AS_STRING(kinds);
    Py_ssize_t n = PyBytes_GET_SIZE(kinds), w = 0;
    *nstatic = 0;
    if (PyTuple_GET_SIZE(args) != n) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (kind[i] == 'a') {
            PyArrayObject *arr = (PyArrayObject *)a;
            if (Py_TYPE(a) != ndarray_type || !plain_dtype(arr)) {
                return -1;
            }
            int ndim = PyArray_NDIM(arr);
            if (w + 3 + 2 * ndim > MAX_WORDS) {
                return -1;
            }
            PyArray_Descr *descr = PyArray_DESCR(arr);
            words[w++] = (Py_ssize_t)descr->type_num
                         | ((Py_ssize_t)(unsigned char)descr->byteorder << 16);
            words[w++] = PyArray_FLAGS(arr) & (NPY_ARRAY_ALIGNED | NPY_ARRAY_WRITEABLE);
            words[w++] = ndim;
            if (ndim > 0) {
                memcpy(words + w, PyArray_DIMS(arr), (size_t)ndim * sizeof(Py_ssize_t));
                w += ndim;
                memcpy(words + w, PyArray_STRIDES(arr), (size_t)ndim * sizeof(Py_ssize_t));
                w += ndim;
            }
        }
        else if (kind[i] == 'f') {
            if ((!PyFloat_CheckExact(a) && !PyComplex_CheckExact(a)) || w + 1 > MAX_WORDS) {
                return -1;
            }
            words[w++] = (Py_ssize_t)Py_TYPE(a);
        }
        else if (PyFloat_CheckExact(a) || PyComplex_CheckExact(a)) {
            double bits[2] = {0.0, 0.0};
            int parts = PyFloat_CheckExact(a) ? 1 : 2;
            if (parts == 1) {
                bits[0] = PyFloat_AS_DOUBLE(a);
            }
            else {
                Py_complex c = PyComplex_AsCComplex(a);
                bits[0] = c.real;
                bits[1] = c.imag;
            }
            if (w + 1 + (Py_ssize_t)(parts * DOUBLE_WORDS) > MAX_WORDS) {
                return -1;
            }
            words[w++] = (Py_ssize_t)Py_TYPE(a);
            memset(words + w, 0, parts * DOUBLE_WORDS * sizeof(Py_ssize_t));
            memcpy(words + w, bits, (size_t)parts * sizeof(double));
            w += (Py_ssize_t)(parts * DOUBLE_WORDS);
        }
        else if (dict_static(a)) {
            (*nstatic)++;
        }
        else {
            return -1;
        }
    }
    return w;
}

static uint64_t
hash_words(const Py_ssize_t *words, Py_ssize_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        h = (h ^ (uint64_t)words[i]) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

/* The slot holding this key, or the empty slot where it would go. */
static Slot *
find_slot(Slot *slots, const Py_ssize_t *words, Py_ssize_t n, uint64_t hash)
{
    size_t i = (size_t)hash & (SLOTS - 1);
    while (slots[i].entry != NULL) {
        Slot *s = &slots[i];
        if (s->hash == hash && s->nwords == n
                && memcmp(s->words, words, (size_t)n * sizeof(Py_ssize_t)) == 0) {
            return s;
        }
        i = (i + 1) & (SLOTS - 1);
    }
    return &slots[i];
}

/* The dict key of a call with static values: (words as bytes, type, value, ...). */
static PyObject *
static_key(PyObject *kinds, PyObject *args, const Py_ssize_t *words, Py_ssize_t n,
           Py_ssize_t nstatic)
{
    const char *kind = PyBytes_AS_STRING(kinds);
    PyObject *key = PyTuple_New(1 + 2 * nstatic);
    if (key == NULL) {
        return NULL;
    }
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)words,
                                                n * (Py_ssize_t)sizeof(Py_ssize_t));
    if (bytes == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    PyTuple_SET_ITEM(key, 0, bytes);
    Py_ssize_t k = 1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (kind[i] != 'a' && kind[i] != 'f' && dict_static(a)) {
            Py_INCREF(Py_TYPE(a));
            PyTuple_SET_ITEM(key, k++, (PyObject *)Py_TYPE(a));
            Py_INCREF(a);
            PyTuple_SET_ITEM(key, k++, a);
        }
    }
    return key;
}

/* The table entry for `args` (a new reference), NULL for a miss, or NULL with an
 * exception. `kinds` and `statics` are the caller's own references: a static value's
 * __eq__, or a collection run by an allocation, may reset the table meanwhile. */
static PyObject *
lookup(Dispatch *self, PyObject *kinds, PyObject *statics, PyObject *args)
{
    Py_ssize_t words[MAX_WORDS], nstatic;
    Py_ssize_t n = key_words(kinds, args, words, &nstatic);
    if (n < 0) {
        return NULL;
    }
    if (nstatic == 0) {  /* no Python code runs from here to the reference */
        if (self->slots == NULL || self->kinds != kinds) {
            return NULL;
        }
        PyObject *entry = find_slot(self->slots, words, n, hash_words(words, n))->entry;
        Py_XINCREF(entry);
        return entry;
    }
    PyObject *key = static_key(kinds, args, words, n, nstatic);
    if (key == NULL) {
        return NULL;
    }
    PyObject *entry = PyDict_GetItemWithError(statics, key);
    Py_XINCREF(entry);
    Py_DECREF(key);
    return entry;
}

/* A failed compiled call: let `self.run_failed(exc, args)` raise the error located at
 * the user's line; where it returns, the original exception propagates. As in Python's
 * `except Exception as exc:`, only an Exception is reported (not KeyboardInterrupt),
 * and it is the exception being handled while run_failed runs (so what that raises
 * has it as its context). */
static void
report_failure(Dispatch *self, PyObject *args)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return;
    }
    PyObject *type, *value, *tb;
#if PY_VERSION_HEX >= 0x030C0000
    value = PyErr_GetRaisedException();  /* normalized, its traceback attached */
    type = Py_NewRef((PyObject *)Py_TYPE(value));
    tb = PyException_GetTraceback(value);
#else
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
#endif
    PyObject *saved_type, *saved_value, *saved_tb;
    PyErr_GetExcInfo(&saved_type, &saved_value, &saved_tb);
    Py_XINCREF(type);
    Py_XINCREF(value);
    Py_XINCREF(tb);
    PyErr_SetExcInfo(type, value, tb);  /* steals the new references */
    PyObject *r = PyObject_CallMethodObjArgs((PyObject *)self, str_run_failed,
                                             value, args, NULL);
    PyErr_SetExcInfo(saved_type, saved_value, saved_tb);
    if (r == NULL) {  /* the located error replaces the original */
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return;
    }
    Py_DECREF(r);
#if PY_VERSION_HEX >= 0x030C0000
    Py_XDECREF(type);
    Py_XDECREF(tb);
    PyErr_SetRaisedException(value);
#else
    PyErr_Restore(type, value, tb);
#endif
}

/* Run a table entry (run, extra, post) on the traced arguments of `args`. */
static PyObject *
run_entry(Dispatch *self, PyObject *kinds, PyObject *entry, PyObject *args)
{
    PyObject *run = PyTuple_GET_ITEM(entry, 0);
    PyObject *extra = PyTuple_GET_ITEM(entry, 1);
    PyObject *post = PyTuple_GET_ITEM(entry, 2);
    const char *kind = PyBytes_AS_STRING(kinds);
    Py_ssize_t n = PyTuple_GET_SIZE(args), nextra = PyTuple_GET_SIZE(extra);
    PyObject *stack[MAX_STACK_ARGS];
    PyObject *out;
    Py_ssize_t passed = 0;
    int all_traced = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (kind[i] == 'a' || kind[i] == 'f') {
            passed++;
        }
        else {
            all_traced = 0;
        }
    }
    self->hits++;
    if (all_traced && nextra == 0) {
        out = PyObject_Call(run, args, NULL);
    }
    else if (passed + nextra <= MAX_STACK_ARGS) {
        Py_ssize_t k = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (kind[i] == 'a' || kind[i] == 'f') {
                stack[k++] = PyTuple_GET_ITEM(args, i);
            }
        }
        for (Py_ssize_t i = 0; i < nextra; i++) {
            stack[k++] = PyTuple_GET_ITEM(extra, i);
        }
        out = PyObject_Vectorcall(run, stack, (size_t)k, NULL);
    }
    else {
        PyObject *callargs = PyTuple_New(passed + nextra);
        if (callargs == NULL) {
            return NULL;
        }
        Py_ssize_t k = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (kind[i] == 'a' || kind[i] == 'f') {
                PyObject *a = PyTuple_GET_ITEM(args, i);
                Py_INCREF(a);
                PyTuple_SET_ITEM(callargs, k++, a);
            }
        }
        for (Py_ssize_t i = 0; i < nextra; i++) {
            PyObject *a = PyTuple_GET_ITEM(extra, i);
            Py_INCREF(a);
            PyTuple_SET_ITEM(callargs, k++, a);
        }
        out = PyObject_Call(run, callargs, NULL);
        Py_DECREF(callargs);
    }
    if (out == NULL) {
        report_failure(self, args);
        return NULL;
    }
    if (post == Py_None) {
        return out;
    }
    PyObject *result = PyObject_CallOneArg(post, out);
    Py_DECREF(out);
    return result;
}

static PyObject *
dispatch_call(Dispatch *self, PyObject *args, PyObject *kwargs)
{
    if (self->kinds != NULL && self->statics != NULL
            && (kwargs == NULL || PyDict_GET_SIZE(kwargs) == 0)) {
        PyObject *kinds = self->kinds, *statics = self->statics;
        Py_INCREF(kinds);
        Py_INCREF(statics);
        PyObject *entry = lookup(self, kinds, statics, args);
        Py_DECREF(statics);
        if (entry != NULL) {
            PyObject *out = run_entry(self, kinds, entry, args);
            Py_DECREF(kinds);
            Py_DECREF(entry);
            return out;
        }
        Py_DECREF(kinds);
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
                return NULL;
            }
            PyErr_Clear();  /* an unhashable static value: not a fast call */
        }
    }
    PyObject *kw = kwargs != NULL ? kwargs : PyDict_New();
    if (kw == NULL) {
        return NULL;
    }
    PyObject *out = PyObject_CallMethodObjArgs((PyObject *)self, str_call_general,
                                               args, kw, NULL);
    if (kwargs == NULL) {
        Py_DECREF(kw);
    }
    return out;
}

static void
free_slots(Slot *slots)
{
    if (slots == NULL) {
        return;
    }
    for (size_t i = 0; i < SLOTS; i++) {
        if (slots[i].entry != NULL) {
            PyMem_Free(slots[i].words);
            Py_DECREF(slots[i].entry);
        }
    }
    PyMem_Free(slots);
}

/* Forget every key; kinds: the new pattern, or NULL for none. The old table is freed
 * only once the new one is in place: freeing it may run code that calls back in. */
static int
reset(Dispatch *self, PyObject *kinds)
{
    PyObject *statics = PyDict_New();
    if (statics == NULL) {
        return -1;
    }
    Slot *old_slots = self->slots;
    PyObject *old_statics = self->statics, *old_kinds = self->kinds;
    Py_XINCREF(kinds);
    self->slots = NULL;
    self->statics = statics;
    self->kinds = kinds;
    self->nkeys = 0;
    free_slots(old_slots);
    Py_XDECREF(old_statics);
    Py_XDECREF(old_kinds);
    return 0;
}

static PyObject *
dispatch_fast_install(Dispatch *self, PyObject *kinds)
{
    if (kinds != Py_None && !PyBytes_Check(kinds)) {
        PyErr_Format(PyExc_TypeError, "_fast_install: kinds must be bytes or None, not %.100s",
                     Py_TYPE(kinds)->tp_name);
        return NULL;
    }
    if (reset(self, kinds == Py_None ? NULL : kinds) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* _fast_add with the caller's own references to the pattern and the dict. */
static PyObject *
add_entry(Dispatch *self, PyObject *kinds, PyObject *statics, PyObject *const *argv)
{
    PyObject *entry = PyTuple_Pack(3, argv[1], argv[2], argv[3]);
    if (entry == NULL) {
        return NULL;
    }
    Py_ssize_t words[MAX_WORDS], nstatic;
    Py_ssize_t n = key_words(kinds, argv[0], words, &nstatic);
    if (n < 0 || self->kinds != kinds) {  /* no fit, or the pattern changed meanwhile */
        Py_DECREF(entry);
        Py_RETURN_FALSE;
    }
    if (nstatic > 0) {
        PyObject *key = static_key(kinds, argv[0], words, n, nstatic);
        Py_ssize_t before = PyDict_GET_SIZE(statics);
        int status = key == NULL ? -1 : PyDict_SetItem(statics, key, entry);
        Py_XDECREF(key);
        Py_DECREF(entry);
        if (status < 0) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
                return NULL;
            }
            PyErr_Clear();  /* an unhashable static value */
            Py_RETURN_FALSE;
        }
        if (self->statics == statics) {  /* a replaced key adds nothing */
            self->nkeys += PyDict_GET_SIZE(statics) - before;
        }
        Py_RETURN_TRUE;
    }
    if (self->slots == NULL) {
        self->slots = PyMem_Calloc(SLOTS, sizeof(Slot));
        if (self->slots == NULL) {
            Py_DECREF(entry);
            return PyErr_NoMemory();
        }
    }
    uint64_t hash = hash_words(words, n);
    Slot *slot = find_slot(self->slots, words, n, hash);
    if (slot->entry != NULL) {  /* a key already there: the new entry replaces it */
        Py_SETREF(slot->entry, entry);
        Py_RETURN_TRUE;
    }
    slot->words = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(Py_ssize_t));
    if (slot->words == NULL) {
        Py_DECREF(entry);
        return PyErr_NoMemory();
    }
    memcpy(slot->words, words, (size_t)n * sizeof(Py_ssize_t));
    slot->nwords = n;
    slot->hash = hash;
    slot->entry = entry;
    self->nkeys++;
    Py_RETURN_TRUE;
}

static PyObject *
dispatch_fast_add(Dispatch *self, PyObject *const *argv, Py_ssize_t argc)
{
    if (argc != 4 || !PyTuple_Check(argv[0]) || !PyTuple_Check(argv[2])) {
        PyErr_SetString(PyExc_TypeError, "_fast_add(args: tuple, run, extra: tuple, post)");
        return NULL;
    }
    if (self->kinds == NULL || self->statics == NULL || self->nkeys >= MAX_KEYS) {
        Py_RETURN_FALSE;
    }
    PyObject *kinds = self->kinds, *statics = self->statics;
    Py_INCREF(kinds);
    Py_INCREF(statics);
    PyObject *result = add_entry(self, kinds, statics, argv);
    Py_DECREF(kinds);
    Py_DECREF(statics);
    return result;
}

static PyObject *
dispatch_get_kinds(Dispatch *self, void *closure)
{
    if (self->kinds == NULL) {
        Py_RETURN_NONE;
    }
    Py_INCREF(self->kinds);
    return self->kinds;
}

static PyObject *
dispatch_get_hits(Dispatch *self, void *closure)
{
    return PyLong_FromSsize_t(self->hits);
}

static int
dispatch_set_hits(Dispatch *self, PyObject *value, void *closure)
{
    Py_ssize_t hits = value == NULL ? -1 : PyLong_AsSsize_t(value);
    if (hits == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (hits < 0) {
        PyErr_SetString(PyExc_ValueError, "_fast_hits must be a non-negative int");
        return -1;
    }
    self->hits = hits;
    return 0;
}

static PyObject *
dispatch_get_keys(Dispatch *self, void *closure)
{
    return PyLong_FromSsize_t(self->nkeys);
}

static PyObject *
dispatch_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Dispatch *self = (Dispatch *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->statics = PyDict_New();
    if (self->statics == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
dispatch_init(Dispatch *self, PyObject *args, PyObject *kwargs)
{
    return 0;  /* a subclass's __init__ sets what it needs */
}

static int
dispatch_traverse(Dispatch *self, visitproc visit, void *arg)
{
    /* a heap subclass's type is visited by CPython */
    Py_VISIT(self->statics);
    if (self->slots != NULL) {
        for (size_t i = 0; i < SLOTS; i++) {
            Py_VISIT(self->slots[i].entry);
        }
    }
    return 0;
}

static int
dispatch_clear(Dispatch *self)
{
    Slot *slots = self->slots;
    self->slots = NULL;
    free_slots(slots);
    Py_CLEAR(self->statics);
    Py_CLEAR(self->kinds);
    self->nkeys = 0;
    return 0;
}

static void
dispatch_dealloc(Dispatch *self)
{
    /* a heap subclass's reference to its type is dropped by CPython */
    PyObject_GC_UnTrack(self);
    dispatch_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef dispatch_methods[] = {
    {"_fast_install", (PyCFunction)dispatch_fast_install, METH_O,
     "_fast_install(kinds: bytes | None): a new call pattern with an empty table, or none"},
    {"_fast_add", (PyCFunction)(void (*)(void))dispatch_fast_add, METH_FASTCALL,
     "_fast_add(args, run, extra, post) -> bool: calls like `args` run `run`"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef dispatch_getset[] = {
    {"_fast_kinds", (getter)dispatch_get_kinds, NULL, "the call pattern, or None", NULL},
    {"_fast_hits", (getter)dispatch_get_hits, (setter)dispatch_set_hits,
     "calls served by the fast path", NULL},
    {"_fast_keys", (getter)dispatch_get_keys, NULL, "keys in the table", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DispatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracejit._dispatch.Dispatch",
    .tp_basicsize = sizeof(Dispatch),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C fast path of a jitted call; `tracejit.Jitted` derives from it.",
    .tp_new = dispatch_new,
    .tp_init = (initproc)dispatch_init,
    .tp_dealloc = (destructor)dispatch_dealloc,
    .tp_traverse = (traverseproc)dispatch_traverse,
    .tp_clear = (inquiry)dispatch_clear,
    .tp_call = (ternaryfunc)dispatch_call,
    .tp_methods = dispatch_methods,
    .tp_getset = dispatch_getset,
};

static struct PyModuleDef dispatch_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "tracejit._dispatch",
    .m_doc = "The C fast path of a jitted call (see tracejit/fastcall.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__dispatch(void)
{
    PyObject *numpy = PyImport_ImportModule("numpy");
    if (numpy == NULL) {
        return NULL;
    }
    ndarray_type = (PyTypeObject *)PyObject_GetAttrString(numpy, "ndarray");
    Py_DECREF(numpy);
    if (ndarray_type == NULL) {
        return NULL;
    }
    str_call_general = PyUnicode_InternFromString("call_general");
    str_run_failed = PyUnicode_InternFromString("run_failed");
    if (str_call_general == NULL || str_run_failed == NULL
            || PyType_Ready(&DispatchType) < 0) {
        Py_CLEAR(ndarray_type);
        Py_CLEAR(str_call_general);
        Py_CLEAR(str_run_failed);
        return NULL;
    }
    PyObject *module = PyModule_Create(&dispatch_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&DispatchType);
    if (PyModule_AddObject(module, "Dispatch", (PyObject *)&DispatchType) < 0) {
        Py_DECREF(&DispatchType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
