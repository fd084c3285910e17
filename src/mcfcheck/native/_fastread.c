/*
 * mcfcheck's C module: the parse that finds installations, and the reading of their
 * fields, done on libxml2's tree without a Python call per element.
 *
 * RecordParser is a push parser on libxml2 that builds the same tree as lxml's
 * XMLPullParser, with the same options, and notes each installation (and each padding
 * processing instruction) in C as its end tag is read. lxml's pull parser reports the
 * same events, but calls into Python at the start and end of every element of the file.
 * The tree is handed to lxml as soon as it exists (adoptExternalDocument), so the
 * installations reach Python as ordinary lxml elements, for lxml's schema validation.
 * Its parse fails where lxml's fails, with libxml2's first error.
 *
 * read_installation() reads an installation's fields for the rules' view, in any
 * dialect: what it reads, and where, is the dialect's reading plan, which Plan() takes
 * once from mcfcheck.schema.binding (ReadingPlan.as_tuple()) and turns into C
 * structures, names as C strings, so that no name is looked up per element. Through
 * lxml's Python API the reading makes a Python proxy object per element and builds its
 * namespaced tag as a string, which costs more than all the rules' checks together.
 * This walks the same elements in C, through lxml's public C API (the element's
 * libxml2 node, lxml's own textOf() for text), and hands the view a tuple of plain
 * values. Only the devices, which rules point problems at, get a proxy. The module
 * knows no element name and no field: the plan gives the names, the slots and the
 * readings' sizes.
 *
 * KeyBuffer records the identifiers that the uniqueness rules gather (a fingerprint and a
 * fixed-width record, both written to disk) as mcfcheck/rules/keys.py does, byte for byte.
 *
 * libxml2's functions (xmlGetLineNo(), the push parser's) are looked up in the lxml
 * module that holds libxml2, so that this module uses the very libxml2 lxml uses, and
 * lines are exactly lxml's `sourceline`.
 *
 * mcfcheck falls back to lxml's pull parser and Python API when this module is not built
 * or does not match the installed lxml; tests compare both ways on the same files
 * (tests/test_native_parser.py, tests/test_fastread.py). The types and tuples are
 * documented in _fastread.pyi.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <limits.h>
#include <malloc.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include "lxml-version.h"
#include "lxml.etree_api.h"
#include "blake2b.h"

typedef long (*line_function)(const xmlNode *);
static line_function get_line_number = NULL;
/* lxml's element class, lxml.etree._Element. */
static PyTypeObject *element_type = NULL;

/* --- small helpers ------------------------------------------------------------- */

/* Whether `node` is in the namespace `namespace_href` (NULL: in none). The namespace's
 * own string is compared before its text: the elements of a file share one. */
static inline int
in_namespace(const xmlNode *node, const xmlChar *namespace_href)
{
    if (node->ns == NULL || node->ns->href == NULL) {
        return namespace_href == NULL;
    }
    return namespace_href != NULL
           && (node->ns->href == namespace_href
               || strcmp((const char *)node->ns->href, (const char *)namespace_href) == 0);
}

/* `text` (a new reference, or NULL) stripped as str.strip() does. */
static PyObject *
stripped(PyObject *text)
{
    if (text == NULL || text == Py_None) {
        return text;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (length == 0) {
        return text;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, 0))
        && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, length - 1))) {
        return text;
    }
    PyObject *result = PyObject_CallMethod(text, "strip", NULL);
    Py_DECREF(text);
    return result;
}

/* The element's text as lxml's `.text` gives it, stripped; None when it has none. */
static PyObject *
stripped_text(xmlNode *node)
{
    return stripped(textOf(node));
}

/* libxml2's text `content` as a Python string (as lxml decodes it), stripped. */
static PyObject *
stripped_content(const xmlChar *content)
{
    return stripped(PyUnicode_DecodeUTF8((const char *)content, (Py_ssize_t)strlen((const char *)content), NULL));
}

/*
 * Texts that repeat from one installation to the next (device types, manufacturers,
 * models, firmware versions, payment modes, statuses: the plan's SHARED nodes and
 * attributes) are made into Python strings once and shared: a small table keyed by the
 * text's bytes, one entry per slot, the newest kept. Only short non-empty ASCII texts
 * are shared, each the only text of its element or attribute: the string is then
 * exactly what stripped_text() makes of the element (and lxml of the attribute). A
 * shared string also keeps its hash, which the rules' lookups of device models use.
 */
#define SHARED_SLOTS 512
#define SHARED_BYTES 32

typedef struct {
    size_t length;
    xmlChar key[SHARED_BYTES];
    PyObject *text;
} SharedText;

static SharedText shared_texts[SHARED_SLOTS];

/* The table's entry for `content`, with its length; NULL for a text that is not shared. */
static SharedText *
shared_entry(const xmlChar *content, size_t *length)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    size_t count = 0;
    for (; content[count] != 0; count++) {
        if (count == SHARED_BYTES || content[count] >= 0x80) {
            return NULL;
        }
        hash = (hash ^ content[count]) * 16777619u;
    }
    *length = count;
    return count > 0 ? &shared_texts[hash % SHARED_SLOTS] : NULL;
}

static inline int
shared_hit(const SharedText *entry, const xmlChar *content, size_t length)
{
    return entry->text != NULL && entry->length == length && memcmp(entry->key, content, length) == 0;
}

static void
shared_keep(SharedText *entry, const xmlChar *content, size_t length, PyObject *text)
{
    if (text != NULL && text != Py_None) {
        Py_XSETREF(entry->text, Py_NewRef(text));
        entry->length = length;
        memcpy(entry->key, content, length);
    }
}

/* stripped_text(), shared. */
static PyObject *
shared_text(xmlNode *node)
{
    xmlNode *only = node->children;
    if (only == NULL || only->type != XML_TEXT_NODE || only->next != NULL || only->content == NULL) {
        return stripped_text(node);
    }
    size_t length;
    SharedText *entry = shared_entry(only->content, &length);
    if (entry == NULL) {
        return stripped_text(node);
    }
    if (shared_hit(entry, only->content, length)) {
        return Py_NewRef(entry->text);
    }
    PyObject *text = stripped_text(node);
    shared_keep(entry, only->content, length, text);
    return text;
}

/* stripped_content(), shared. */
static PyObject *
shared_content(const xmlChar *content)
{
    size_t length;
    SharedText *entry = shared_entry(content, &length);
    if (entry == NULL) {
        return stripped_content(content);
    }
    if (shared_hit(entry, content, length)) {
        return Py_NewRef(entry->text);
    }
    PyObject *text = stripped_content(content);
    shared_keep(entry, content, length, text);
    return text;
}

static PyObject *
line_of(const xmlNode *node)
{
    long line = get_line_number(node);
    return PyLong_FromLong(line > 0 ? line : 0);
}

/* Put `value` (a new reference, or NULL on error) in `*slot`, releasing what was there. */
static int
put(PyObject **slot, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    Py_XSETREF(*slot, value);
    return 0;
}

static int
put_line(PyObject **slot, const xmlNode *node)
{
    return put(slot, line_of(node));
}

/* --- reading plans ------------------------------------------------------------- */

/*
 * What read_installation() reads, and where, is a dialect's reading plan
 * (mcfcheck.schema.binding.reading_plan): a tree of element names below the
 * installation and one below a device, each node saying what its element gives (its
 * text, with its line; a flag; the Communications Hub; a device) and which of its
 * attributes are read. Plan() turns the plan's tuple (ReadingPlan.as_tuple()) into the
 * structures below once, checking its shape, so that reading compares names and
 * nothing else.
 */

/* A node's actions: mcfcheck.schema.binding's TEXT, SHARED, FLAG, DEVICE and HUB. */
enum { ACTION_TEXT = 1, ACTION_SHARED = 2, ACTION_FLAG = 4, ACTION_DEVICE = 8, ACTION_HUB = 16 };
#define ACTIONS_ALL (ACTION_TEXT | ACTION_SHARED | ACTION_FLAG | ACTION_DEVICE | ACTION_HUB)

/* How deep a plan's trees and how many a reading's slots may be: far beyond any binding's. */
#define PLAN_MAX_DEPTH 256
#define PLAN_MAX_SLOTS 1024

typedef struct {
    char *name; /* an unqualified attribute's name, UTF-8 */
    int value;  /* the slot of its stripped value */
    int line;   /* the slot of its element's line, or -1 */
    int shared;
} PlanAttribute;

typedef struct PlanStep {
    char *name; /* the element's local name, UTF-8 */
    int actions;
    int value; /* TEXT: the slot of its text; DEVICE: the list of devices */
    int line;  /* TEXT: the slot of its line, or -1; DEVICE: the place its devices' readings hold */
    int flag;  /* FLAG: the slot set True; HUB: the slot of its device's reading */
    int attribute_count;
    PlanAttribute *attributes;
    int child_count;
    struct PlanStep *children;
} PlanStep;

typedef struct {
    PyObject_HEAD
    PlanStep installation; /* of the roots' own actions only TEXT counts: a concept at ".", the element's text */
    PlanStep device;
    int installation_size;
    int device_size;
    int devices_slot;     /* a new list in every installation's reading */
    int flag_count;       /* slots that are False in an installation's reading unless read */
    int *flag_slots;
    int line_count;       /* slots that are 0 in a device's reading unless read */
    int *line_slots;
    int place_slot;       /* a device's place: the index of the path it was found at (-1: the hub) */
} Plan;

static void
free_step(PlanStep *step)
{
    PyMem_Free(step->name);
    for (int i = 0; i < step->attribute_count; i++) {
        PyMem_Free(step->attributes[i].name);
    }
    PyMem_Free(step->attributes);
    for (int i = 0; i < step->child_count; i++) {
        free_step(&step->children[i]);
    }
    PyMem_Free(step->children);
    memset(step, 0, sizeof *step);
}

/* What a tree of the plan may hold, for checking its nodes. */
typedef struct {
    const char *name; /* "installation" or "device", for messages */
    int size;         /* the reading's slots */
    int first_slot;   /* the first a node may read into: slot 0 of a device's reading is its element */
    int list_slot;    /* the list of devices, which only DEVICE nodes use; -1 in a device's reading */
    int actions;      /* the actions its nodes may have */
} PlanTree;

/* `object` as an int from `low` to `high` (both included), in `*result`. */
static int
plan_int(PyObject *object, long low, long high, const char *what, int *result)
{
    if (!PyLong_Check(object)) {
        PyErr_Format(PyExc_TypeError, "Plan(): %s must be an int, not %.100s", what, Py_TYPE(object)->tp_name);
        return -1;
    }
    int overflow;
    long value = PyLong_AsLongAndOverflow(object, &overflow);
    if (value == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow != 0 || value < low || value > high) {
        PyErr_Format(PyExc_ValueError, "Plan(): %s is %R, not from %ld to %ld", what, object, low, high);
        return -1;
    }
    *result = (int)value;
    return 0;
}

/* A slot that a node of `tree` reads into: in the reading, not the element's, not the devices' list. */
static int
plan_slot(PyObject *object, const PlanTree *tree, const char *what, int *slot)
{
    if (plan_int(object, 0, tree->size - 1, what, slot) < 0) {
        return -1;
    }
    if (*slot < tree->first_slot || *slot == tree->list_slot) {
        PyErr_Format(PyExc_ValueError, "Plan(): %s of the %s tree is slot %d, which holds the %s", what, tree->name,
                     *slot, *slot == tree->list_slot ? "list of devices" : "device's element");
        return -1;
    }
    return 0;
}

/* A copy of a name: a non-empty string without NUL or braces (lxml's {namespace}name). */
static char *
plan_name(PyObject *object, const char *what)
{
    if (!PyUnicode_Check(object)) {
        PyErr_Format(PyExc_TypeError, "Plan(): %s must be a str, not %.100s", what, Py_TYPE(object)->tp_name);
        return NULL;
    }
    Py_ssize_t length;
    const char *utf8 = PyUnicode_AsUTF8AndSize(object, &length);
    if (utf8 == NULL) {
        return NULL;
    }
    if (length == 0 || strlen(utf8) != (size_t)length || strpbrk(utf8, "{}") != NULL) {
        PyErr_Format(PyExc_ValueError, "Plan(): %s %R is not a name", what, object);
        return NULL;
    }
    char *copy = PyMem_Malloc((size_t)length + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, utf8, (size_t)length + 1);
    return copy;
}

/* `object` as a tuple of `length` items (any length when -1). */
static int
plan_tuple(PyObject *object, Py_ssize_t length, const char *what)
{
    if (!PyTuple_Check(object)) {
        PyErr_Format(PyExc_TypeError, "Plan(): %s must be a tuple, not %.100s", what, Py_TYPE(object)->tp_name);
        return -1;
    }
    if (length >= 0 && PyTuple_GET_SIZE(object) != length) {
        PyErr_Format(PyExc_ValueError, "Plan(): %s must have %zd items, not %zd", what, length,
                     PyTuple_GET_SIZE(object));
        return -1;
    }
    if (PyTuple_GET_SIZE(object) > PLAN_MAX_SLOTS) {
        PyErr_Format(PyExc_ValueError, "Plan(): %s has more than %d items", what, PLAN_MAX_SLOTS);
        return -1;
    }
    return 0;
}

static int
build_attribute(PlanAttribute *attribute, PyObject *object, const PlanTree *tree)
{
    if (plan_tuple(object, 4, "an attribute (name, value slot, line slot, shared)") < 0) {
        return -1;
    }
    PyObject *shared = PyTuple_GET_ITEM(object, 3);
    if (!PyBool_Check(shared)) {
        PyErr_Format(PyExc_TypeError, "Plan(): an attribute's shared must be a bool, not %.100s",
                     Py_TYPE(shared)->tp_name);
        return -1;
    }
    attribute->shared = shared == Py_True;
    attribute->line = -1;
    if ((attribute->name = plan_name(PyTuple_GET_ITEM(object, 0), "an attribute's name")) == NULL
        || plan_slot(PyTuple_GET_ITEM(object, 1), tree, "an attribute's value slot", &attribute->value) < 0) {
        return -1;
    }
    PyObject *line = PyTuple_GET_ITEM(object, 2);
    if (plan_int(line, -1, tree->size - 1, "an attribute's line slot", &attribute->line) < 0) {
        return -1;
    }
    return attribute->line >= 0 ? plan_slot(line, tree, "an attribute's line slot", &attribute->line) : 0;
}

static int
build_step(PlanStep *step, PyObject *node, const PlanTree *tree, int depth)
{
    if (depth > PLAN_MAX_DEPTH) {
        PyErr_Format(PyExc_ValueError, "Plan(): the %s tree is deeper than %d levels", tree->name, PLAN_MAX_DEPTH);
        return -1;
    }
    if (plan_tuple(node, 7, "a node (name, actions, value, line, flag, attributes, children)") < 0) {
        return -1;
    }
    step->line = -1;
    if ((step->name = plan_name(PyTuple_GET_ITEM(node, 0), "a node's name")) == NULL
        || plan_int(PyTuple_GET_ITEM(node, 1), 0, ACTIONS_ALL, "a node's actions", &step->actions) < 0
        || plan_int(PyTuple_GET_ITEM(node, 2), -1, tree->size - 1, "a node's value slot", &step->value) < 0
        || plan_int(PyTuple_GET_ITEM(node, 3), -1, tree->size - 1, "a node's line slot", &step->line) < 0
        || plan_int(PyTuple_GET_ITEM(node, 4), -1, tree->size - 1, "a node's flag slot", &step->flag) < 0) {
        return -1;
    }
    int actions = step->actions;
    if ((actions & ~tree->actions) != 0) {
        PyErr_Format(PyExc_ValueError, "Plan(): node %R of the %s tree has actions %d; it may have only those of %d",
                     PyTuple_GET_ITEM(node, 0), tree->name, actions, tree->actions);
        return -1;
    }
    if ((actions & ACTION_TEXT)
        && (plan_slot(PyTuple_GET_ITEM(node, 2), tree, "a text's value slot", &step->value) < 0
            || (step->line >= 0 && plan_slot(PyTuple_GET_ITEM(node, 3), tree, "a text's line slot", &step->line) < 0))) {
        return -1;
    }
    if ((actions & (ACTION_FLAG | ACTION_HUB))
        && plan_slot(PyTuple_GET_ITEM(node, 4), tree, "a flag's or hub's slot", &step->flag) < 0) {
        return -1;
    }
    if ((actions & ACTION_DEVICE) && step->line < 0) {
        PyErr_Format(PyExc_ValueError, "Plan(): node %R reads devices without their place", PyTuple_GET_ITEM(node, 0));
        return -1;
    }
    if ((actions & ACTION_DEVICE) && step->value != tree->list_slot) {
        PyErr_Format(PyExc_ValueError, "Plan(): node %R reads devices into slot %d, not the list of devices (%d)",
                     PyTuple_GET_ITEM(node, 0), step->value, tree->list_slot);
        return -1;
    }
    PyObject *attributes = PyTuple_GET_ITEM(node, 5);
    if (plan_tuple(attributes, -1, "a node's attributes") < 0) {
        return -1;
    }
    if (PyTuple_GET_SIZE(attributes) > 0) {
        step->attributes = PyMem_Calloc((size_t)PyTuple_GET_SIZE(attributes), sizeof *step->attributes);
        if (step->attributes == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        step->attribute_count = (int)PyTuple_GET_SIZE(attributes);
        for (int i = 0; i < step->attribute_count; i++) {
            if (build_attribute(&step->attributes[i], PyTuple_GET_ITEM(attributes, i), tree) < 0) {
                return -1;
            }
        }
    }
    PyObject *children = PyTuple_GET_ITEM(node, 6);
    if (plan_tuple(children, -1, "a node's children") < 0) {
        return -1;
    }
    if (PyTuple_GET_SIZE(children) > 0) {
        step->children = PyMem_Calloc((size_t)PyTuple_GET_SIZE(children), sizeof *step->children);
        if (step->children == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        step->child_count = (int)PyTuple_GET_SIZE(children);
        for (int i = 0; i < step->child_count; i++) {
            if (build_step(&step->children[i], PyTuple_GET_ITEM(children, i), tree, depth + 1) < 0) {
                return -1;
            }
            for (int j = 0; j < i; j++) {
                if (strcmp(step->children[j].name, step->children[i].name) == 0) {
                    PyErr_Format(PyExc_ValueError, "Plan(): node %R has two children named %s",
                                 PyTuple_GET_ITEM(node, 0), step->children[i].name);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* A tuple of slots, each checked by plan_slot() against `tree`, into a new array. */
static int
build_slots(PyObject *object, const PlanTree *tree, const char *what, int **slots, int *count)
{
    if (plan_tuple(object, -1, what) < 0) {
        return -1;
    }
    Py_ssize_t length = PyTuple_GET_SIZE(object);
    *slots = PyMem_Calloc(length > 0 ? (size_t)length : 1, sizeof **slots);
    if (*slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *count = (int)length;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (plan_slot(PyTuple_GET_ITEM(object, i), tree, what, &(*slots)[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

static void
plan_dealloc(Plan *self)
{
    free_step(&self->installation);
    free_step(&self->device);
    PyMem_Free(self->flag_slots);
    PyMem_Free(self->line_slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
plan_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *source;
    if ((kwargs != NULL && PyDict_GET_SIZE(kwargs) > 0) || !PyArg_ParseTuple(args, "O:Plan", &source)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "Plan() takes one argument, a ReadingPlan's as_tuple()");
        }
        return NULL;
    }
    if (plan_tuple(source, 8,
                   "a plan (installation, device, installation size, device size, devices' slot, flags' slots, "
                   "device lines' slots, device place's slot)")
        < 0) {
        return NULL;
    }
    Plan *self = (Plan *)type->tp_alloc(type, 0); /* zeroed */
    if (self == NULL) {
        return NULL;
    }
    if (plan_int(PyTuple_GET_ITEM(source, 2), 1, PLAN_MAX_SLOTS, "the installation's size", &self->installation_size)
            < 0
        || plan_int(PyTuple_GET_ITEM(source, 3), 1, PLAN_MAX_SLOTS, "a device's size", &self->device_size) < 0
        || plan_int(PyTuple_GET_ITEM(source, 4), 0, self->installation_size - 1, "the devices' slot",
                    &self->devices_slot)
               < 0
        || plan_int(PyTuple_GET_ITEM(source, 7), 1, self->device_size - 1, "a device place's slot", &self->place_slot)
               < 0) {
        goto error;
    }
    PlanTree installation = {"installation", self->installation_size, 0, self->devices_slot, ACTIONS_ALL};
    PlanTree device = {"device", self->device_size, 1, -1, ACTION_TEXT | ACTION_SHARED};
    if (build_slots(PyTuple_GET_ITEM(source, 5), &installation, "a flag's slot", &self->flag_slots, &self->flag_count)
            < 0
        || build_slots(PyTuple_GET_ITEM(source, 6), &device, "a device line's slot", &self->line_slots,
                       &self->line_count)
               < 0
        || build_step(&self->installation, PyTuple_GET_ITEM(source, 0), &installation, 0) < 0
        || build_step(&self->device, PyTuple_GET_ITEM(source, 1), &device, 0) < 0) {
        goto error;
    }
    return (PyObject *)self;
error:
    Py_DECREF(self);
    return NULL;
}

static PyTypeObject plan_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mcfcheck.native._fastread.Plan",
    .tp_basicsize = sizeof(Plan),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Plan(plan_tuple): a reading plan (ReadingPlan.as_tuple()) made ready for read_installation().",
    .tp_new = plan_new,
    .tp_dealloc = (destructor)plan_dealloc,
};

/* --- reading installations ----------------------------------------------------- */

/*
 * read_installation() walks libxml2's tree as mcfcheck.rules.views.read_installation_fields()
 * walks lxml's: the installation's or a device's own text where a concept is at ".", then
 * the children of each element that the plan names (by local name, in the
 * installation's namespace), where an element that repeats counts last; each device
 * element, at any of the plan's places, read into a tuple of its own and added to the
 * list of devices; the hub read as a device into its slot, and its children still read
 * for the installation. The readings are tuples filled in place.
 */

/* The step below `step` that `node` is, if any. The first bytes of the names are compared
 * before strcmp(): most differ at once. */
static inline const PlanStep *
matching(const PlanStep *step, const xmlNode *node, const xmlChar *namespace_href)
{
    if (node->type != XML_ELEMENT_NODE) {
        return NULL;
    }
    const char *name = (const char *)node->name;
    for (int i = 0; i < step->child_count; i++) {
        const PlanStep *child = &step->children[i];
        if (child->name[0] == name[0] && strcmp(child->name, name) == 0) {
            return in_namespace(node, namespace_href) ? child : NULL;
        }
    }
    return NULL;
}

/* The stripped value of an attribute as lxml's get() reads it, where libxml2 does not hold
 * it as one string: entities in it, or a default from the document's DTD. */
static PyObject *
attribute_through_lxml(struct LxmlDocument *document, xmlNode *element, const char *name)
{
    PyObject *proxy = (PyObject *)elementFactory(document, element);
    if (proxy == NULL) {
        return NULL;
    }
    PyObject *value = PyObject_CallMethod(proxy, "get", "s", name);
    Py_DECREF(proxy);
    if (value != NULL && value != Py_None && !PyUnicode_Check(value)) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_TypeError, "lxml's get() gave an attribute's value that is not a str");
        return NULL;
    }
    return stripped(value);
}

/* Read an attribute that the plan names (unqualified), with its element's line; nothing where it is absent. */
static int
read_attribute(struct LxmlDocument *document, xmlNode *element, const PlanAttribute *attribute, PyObject **slots)
{
    xmlAttr *found = element->properties;
    while (found != NULL && (found->ns != NULL || strcmp((const char *)found->name, attribute->name) != 0)) {
        found = found->next;
    }
    PyObject *value;
    xmlNode *text = found != NULL ? found->children : NULL;
    if (found != NULL
        && (text == NULL
            || (text->next == NULL && (text->type == XML_TEXT_NODE || text->type == XML_CDATA_SECTION_NODE)))) {
        /* As libxml2's xmlGetNsProp(), which lxml's get() calls: the only text, or "". */
        const xmlChar *content = text != NULL && text->content != NULL ? text->content : (const xmlChar *)"";
        value = attribute->shared ? shared_content(content) : stripped_content(content);
    } else if (found != NULL || (element->doc != NULL && element->doc->intSubset != NULL)) {
        value = attribute_through_lxml(document, element, attribute->name);
        if (value == Py_None) {
            Py_DECREF(value);
            return 0;
        }
    } else {
        return 0;
    }
    if (put(&slots[attribute->value], value) < 0) {
        return -1;
    }
    return attribute->line >= 0 ? put_line(&slots[attribute->line], element) : 0;
}

typedef struct {
    struct LxmlDocument *document;
    const Plan *plan;
    const xmlChar *namespace_href; /* the installation's */
} Reading;

/* The text (and line) of an element that `step` reads as text. */
static int
read_text(xmlNode *element, const PlanStep *step, PyObject **slots)
{
    if (!(step->actions & ACTION_TEXT)) {
        return 0;
    }
    if (put(&slots[step->value], (step->actions & ACTION_SHARED) ? shared_text(element) : stripped_text(element)) < 0) {
        return -1;
    }
    return step->line >= 0 ? put_line(&slots[step->line], element) : 0;
}

static PyObject *read_device(const Reading *reading, xmlNode *element, int place);

/* Read what `step` names of `element`'s attributes and of its children, and below them, into `slots`. */
static int
walk(const Reading *reading, xmlNode *element, const PlanStep *step, PyObject **slots)
{
    for (int i = 0; i < step->attribute_count; i++) {
        if (read_attribute(reading->document, element, &step->attributes[i], slots) < 0) {
            return -1;
        }
    }
    if (step->child_count == 0) {
        return 0;
    }
    for (xmlNode *child = element->children; child != NULL; child = child->next) {
        const PlanStep *sub = matching(step, child, reading->namespace_href);
        if (sub == NULL) {
            continue;
        }
        int actions = sub->actions;
        if (read_text(child, sub, slots) < 0) {
            return -1;
        }
        if ((actions & ACTION_FLAG) && put(&slots[sub->flag], Py_NewRef(Py_True)) < 0) {
            return -1;
        }
        if ((actions & ACTION_HUB) && put(&slots[sub->flag], read_device(reading, child, -1)) < 0) {
            return -1;
        }
        if (actions & ACTION_DEVICE) {
            /* Plan() lets only DEVICE nodes use this slot, and the reading starts it as a list. */
            PyObject *device = read_device(reading, child, sub->line);
            if (device == NULL || PyList_Append(slots[sub->value], device) < 0) {
                Py_XDECREF(device);
                return -1;
            }
            Py_DECREF(device);
        }
        if ((sub->child_count > 0 || sub->attribute_count > 0) && walk(reading, child, sub, slots) < 0) {
            return -1;
        }
    }
    return 0;
}

/* A new tuple of `size` slots, to fill in place (NULL until set; a tuple's deallocation and
 * the garbage collector allow that). */
static PyObject *
new_reading(int size, PyObject ***slots)
{
    PyObject *tuple = PyTuple_New(size);
    if (tuple != NULL) {
        *slots = ((PyTupleObject *)tuple)->ob_item;
    }
    return tuple;
}

/* Set the slots never read to None. */
static void
fill_none(PyObject **slots, int size)
{
    for (int i = 0; i < size; i++) {
        if (slots[i] == NULL) {
            slots[i] = Py_NewRef(Py_None);
        }
    }
}

/* A device's reading: its element (lxml's proxy), then what the device's tree reads (its own text first, for a
 * concept at "."); its lines 0 where absent. */
static PyObject *
read_device(const Reading *reading, xmlNode *element, int place)
{
    const Plan *plan = reading->plan;
    PyObject **slots;
    PyObject *tuple = new_reading(plan->device_size, &slots);
    if (tuple == NULL) {
        return NULL;
    }
    if (put(&slots[0], (PyObject *)elementFactory(reading->document, element)) < 0
        || put(&slots[plan->place_slot], PyLong_FromLong(place)) < 0 || read_text(element, &plan->device, slots) < 0
        || walk(reading, element, &plan->device, slots) < 0) {
        goto error;
    }
    for (int i = 0; i < plan->line_count; i++) {
        PyObject **slot = &slots[plan->line_slots[i]];
        if ((*slot == NULL || *slot == Py_None) && put(slot, PyLong_FromLong(0)) < 0) {
            goto error;
        }
    }
    fill_none(slots, plan->device_size);
    return tuple;
error:
    Py_DECREF(tuple);
    return NULL;
}

static PyObject *
read_installation(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "read_installation(element, plan) takes two arguments");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], element_type)) {
        PyErr_SetString(PyExc_TypeError, "read_installation() takes an lxml element");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[1], &plan_type)) {
        PyErr_Format(PyExc_TypeError, "read_installation() takes a Plan, not %.100s", Py_TYPE(args[1])->tp_name);
        return NULL;
    }
    struct LxmlElement *installation = (struct LxmlElement *)args[0];
    xmlNode *node = installation->_c_node;
    if (node == NULL || node->type != XML_ELEMENT_NODE) {
        PyErr_SetString(PyExc_ValueError, "read_installation() takes an element");
        return NULL;
    }
    const Plan *plan = (const Plan *)args[1];
    Reading reading = {installation->_doc, plan, node->ns != NULL ? node->ns->href : NULL};
    PyObject **slots;
    PyObject *tuple = new_reading(plan->installation_size, &slots);
    if (tuple == NULL) {
        return NULL;
    }
    if (put(&slots[plan->devices_slot], PyList_New(0)) < 0) {
        goto error;
    }
    for (int i = 0; i < plan->flag_count; i++) {
        if (put(&slots[plan->flag_slots[i]], Py_NewRef(Py_False)) < 0) {
            goto error;
        }
    }
    if (read_text(node, &plan->installation, slots) < 0 || walk(&reading, node, &plan->installation, slots) < 0) {
        goto error;
    }
    fill_none(slots, plan->installation_size);
    return tuple;
error:
    Py_DECREF(tuple);
    return NULL;
}

/* --- streaming parse ------------------------------------------------------------ */

/*
 * A push parser that builds libxml2's tree with libxml2's own SAX2 handlers and notes,
 * in C, each record element (and each padding processing instruction) as its end is
 * read. lxml's XMLPullParser reports the same events, but calls into Python (taking the
 * interpreter lock) at the start and end of every element of the document; here only
 * the records reach Python, as lxml elements of a document that lxml owns.
 */

typedef xmlParserCtxtPtr (*create_push_function)(xmlSAXHandlerPtr, void *, const char *, int, const char *);
typedef int (*use_options_function)(xmlParserCtxtPtr, int);
typedef int (*parse_chunk_function)(xmlParserCtxtPtr, const char *, int, int);
typedef void (*free_context_function)(xmlParserCtxtPtr);
typedef void (*set_error_handler_function)(xmlParserCtxtPtr, xmlStructuredErrorFunc, void *);
typedef void (*stop_parser_function)(xmlParserCtxtPtr);
typedef void (*free_document_function)(xmlDocPtr);

static create_push_function create_push_parser = NULL;
static use_options_function use_options = NULL;
static parse_chunk_function parse_chunk = NULL;
static free_context_function free_parser_context = NULL;
static set_error_handler_function set_error_handler = NULL;
static stop_parser_function stop_parser = NULL;
static free_document_function free_document = NULL;

/* lxml's options for XMLParser(resolve_entities=False, strip_cdata=True, no_network=True, huge_tree=False). */
#define PARSE_OPTIONS (XML_PARSE_NOCDATA | XML_PARSE_NONET | XML_PARSE_COMPACT | XML_PARSE_BIG_LINES)

typedef struct {
    PyObject_HEAD
    xmlParserCtxtPtr context;
    /* The lxml document that owns libxml2's tree, once the tree exists. */
    struct LxmlDocument *document;
    char *record_name;
    char *record_namespace; /* NULL: no namespace */
    char *padding_target;   /* NULL: processing instructions are not reported */
    startElementNsSAX2Func start_element;
    endElementNsSAX2Func end_element;
    processingInstructionSAXFunc processing_instruction;
    charactersSAXFunc characters;
    commentSAXFunc comment;
    /* The input's line where the last reported markup or text ended (see on_characters). */
    int last_line;
    /* Nodes completed since the last call, in document order. */
    xmlNode **completed;
    Py_ssize_t completed_count;
    Py_ssize_t completed_size;
    int out_of_memory;
    /* The first error of level XML_ERR_ERROR or above: (message, code, line, column). */
    PyObject *error;
    /* Whether the parse failed, as lxml's parser judges it (then `error` says why). */
    int failed;
} RecordParser;

static int
note_completed(RecordParser *self, xmlNode *node)
{
    if (self->completed_count == self->completed_size) {
        Py_ssize_t size = self->completed_size ? self->completed_size * 2 : 256;
        xmlNode **grown = PyMem_RawRealloc(self->completed, (size_t)size * sizeof(xmlNode *));
        if (grown == NULL) {
            return -1;
        }
        self->completed = grown;
        self->completed_size = size;
    }
    self->completed[self->completed_count++] = node;
    return 0;
}

/*
 * Lines beyond 65535. A node's line field has 16 bits: libxml2 keeps 65535 there and
 * finds an element's line from its first child (or, without children, its next
 * sibling), down to a text node, which holds its own line in `psvi` (the
 * XML_PARSE_BIG_LINES option). But a text node's line is where the text ends: an
 * element followed by a line break and a child (`<Device>`, then its children on the
 * next lines) was placed on its first child's line. Here every text node beyond
 * 65535 is given the line where it begins, which is where the markup before it ended:
 * an element's first text is then on the element's line, and the text after an empty
 * element on that element's line, as below 65535.
 */
#define LINE_FIELD_MAX 65535

static void
note_line(xmlParserCtxtPtr parser)
{
    RecordParser *self = parser->_private;
    self->last_line = parser->input != NULL ? parser->input->line : 0;
}

static int
is_blank(const xmlChar *text, int length)
{
    for (int i = 0; i < length; i++) {
        if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/*
 * Blank text between an element that holds something and the next tag (the line breaks
 * and indentation between elements) is not added to the tree: a third of an
 * installation's nodes, allocated, validated and freed for nothing. Nothing mcfcheck
 * reports depends on it: libxml2's schema validation allows blanks in element-only
 * content, ignores the text after a child element in simple content (having reported
 * the element), and says nothing of it in mixed content; such text is an element's tail,
 * which mcfcheck never reads. The text after an empty element is kept: libxml2 finds
 * that element's line from it, beyond line 65535. Text that does not run up to a tag
 * (a long run of blanks given in pieces, then other text) is kept whole.
 */
static int
between_elements(xmlParserCtxtPtr parser, xmlNode *last, const xmlChar *text, int length)
{
    return last != NULL && last->type == XML_ELEMENT_NODE && last->children != NULL && parser->input != NULL
           && parser->input->cur != NULL && parser->input->cur[0] == '<' && is_blank(text, length);
}

static void
on_characters(void *context, const xmlChar *text, int length)
{
    xmlParserCtxtPtr parser = context;
    RecordParser *self = parser->_private;
    xmlNode *parent = parser->node;
    xmlNode *last = parent != NULL ? parent->last : NULL;
    if (between_elements(parser, last, text, length)) {
        note_line(parser);
        return;
    }
    void *kept = last != NULL ? last->psvi : NULL;
    int begins = self->last_line;
    self->characters(context, text, length);
    note_line(parser);
    if (parent == NULL || parent->last == NULL) {
        return;
    }
    xmlNode *node = parent->last;
    if (node->type != XML_TEXT_NODE || node->line != LINE_FIELD_MAX) {
        return;
    }
    if (node == last) {
        /* Text added to a text node: it keeps the line where it began. */
        node->psvi = kept;
    } else if (begins < LINE_FIELD_MAX) {
        /* A new text node that begins below 65535 and ends beyond. */
        node->line = (unsigned short)begins;
    } else {
        node->psvi = (void *)(ptrdiff_t)begins;
    }
}

static void
on_comment(void *context, const xmlChar *value)
{
    xmlParserCtxtPtr parser = context;
    RecordParser *self = parser->_private;
    self->comment(context, value);
    note_line(parser);
}

static void
on_start_element(void *context, const xmlChar *name, const xmlChar *prefix, const xmlChar *href, int namespace_count,
                 const xmlChar **namespaces, int attribute_count, int defaulted_count, const xmlChar **attributes)
{
    xmlParserCtxtPtr parser = context;
    RecordParser *self = parser->_private;
    self->start_element(context, name, prefix, href, namespace_count, namespaces, attribute_count, defaulted_count,
                        attributes);
    note_line(parser);
}

static void
on_end_element(void *context, const xmlChar *name, const xmlChar *prefix, const xmlChar *href)
{
    xmlParserCtxtPtr parser = context;
    RecordParser *self = parser->_private;
    xmlNode *node = parser->node;
    self->end_element(context, name, prefix, href);
    note_line(parser);
    if (node == NULL || node->type != XML_ELEMENT_NODE || strcmp((const char *)name, self->record_name) != 0) {
        return;
    }
    if (href == NULL ? self->record_namespace != NULL
                     : self->record_namespace == NULL || strcmp((const char *)href, self->record_namespace) != 0) {
        return;
    }
    if (note_completed(self, node) < 0) {
        self->out_of_memory = 1;
        stop_parser(parser);
    }
}

static void
on_processing_instruction(void *context, const xmlChar *target, const xmlChar *data)
{
    xmlParserCtxtPtr parser = context;
    RecordParser *self = parser->_private;
    self->processing_instruction(context, target, data);
    note_line(parser);
    if (self->padding_target == NULL || strcmp((const char *)target, self->padding_target) != 0) {
        return;
    }
    xmlNode *node = parser->node != NULL ? parser->node->last : parser->myDoc != NULL ? parser->myDoc->last : NULL;
    if (node != NULL && node->type == XML_PI_NODE && note_completed(self, node) < 0) {
        self->out_of_memory = 1;
        stop_parser(parser);
    }
}

static void
on_error(void *data, const xmlError *error)
{
    RecordParser *self = data;
    if (self->error != NULL || error->level < XML_ERR_ERROR) {
        return;
    }
    PyGILState_STATE state = PyGILState_Ensure();
    const char *message = error->message != NULL ? error->message : "";
    size_t length = strlen(message);
    if (length > 0 && message[length - 1] == '\n') {
        length--;
    }
    PyObject *text = PyUnicode_DecodeUTF8(message, (Py_ssize_t)length, "replace");
    self->error = text != NULL ? Py_BuildValue("(Niii)", text, error->code, error->line, error->int2) : NULL;
    if (self->error == NULL) {
        PyErr_Clear();
        self->error = Py_NewRef(Py_None);
    }
    PyGILState_Release(state);
}

static char *
copy_text(PyObject *text)
{
    if (text == Py_None) {
        return NULL;
    }
    const char *utf8 = PyUnicode_AsUTF8(text);
    if (utf8 == NULL) {
        return NULL;
    }
    size_t size = strlen(utf8) + 1;
    char *copy = PyMem_RawMalloc(size);
    if (copy != NULL) {
        memcpy(copy, utf8, size);
    }
    return copy;
}

static int
record_parser_init(RecordParser *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"namespace", "name", "padding_target", NULL};
    PyObject *namespace, *name, *padding = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OU|O", keywords, &namespace, &name, &padding)) {
        return -1;
    }
    if (self->context != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "RecordParser is already initialised");
        return -1;
    }
    self->record_name = copy_text(name);
    self->record_namespace = copy_text(namespace);
    self->padding_target = copy_text(padding);
    if (self->record_name == NULL || (namespace != Py_None && self->record_namespace == NULL)
        || (padding != Py_None && self->padding_target == NULL)) {
        return PyErr_Occurred() ? -1 : (PyErr_NoMemory(), -1);
    }
    self->context = create_push_parser(NULL, NULL, NULL, 0, NULL);
    if (self->context == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    use_options(self->context, PARSE_OPTIONS);
    set_error_handler(self->context, on_error, self);
    self->context->_private = self;
    xmlSAXHandler *sax = self->context->sax;
    if (sax->startElementNs == NULL || sax->comment == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "libxml2's parser builds no tree");
        return -1;
    }
    self->start_element = sax->startElementNs;
    sax->startElementNs = on_start_element;
    self->end_element = sax->endElementNs;
    sax->endElementNs = on_end_element;
    self->processing_instruction = sax->processingInstruction;
    sax->processingInstruction = on_processing_instruction;
    self->comment = sax->comment;
    sax->comment = on_comment;
    /*
     * Blank text goes to the same handler as other text (libxml2's default too): with
     * two different handlers libxml2 would tell blanks from text by guesswork.
     */
    if (sax->characters == NULL || sax->ignorableWhitespace != sax->characters) {
        PyErr_SetString(PyExc_RuntimeError, "libxml2's parser reports blank text apart from other text");
        return -1;
    }
    self->characters = sax->characters;
    sax->characters = on_characters;
    sax->ignorableWhitespace = on_characters;
    return 0;
}

/* The nodes completed since the last call, as lxml elements. */
static PyObject *
take_completed(RecordParser *self)
{
    if (self->out_of_memory) {
        return PyErr_NoMemory();
    }
    xmlDoc *document = self->context->myDoc;
    if (self->document == NULL && document != NULL) {
        /* lxml owns the document from now on; the parser only adds nodes to it. */
        struct LxmlElementTree *tree = adoptExternalDocument(document, Py_None, 1);
        if (tree == NULL) {
            return NULL;
        }
        self->document = (PyObject *)tree->_doc != Py_None ? tree->_doc : tree->_context_node->_doc;
        Py_INCREF(self->document);
        Py_DECREF(tree);
    }
    PyObject *list = PyList_New(self->completed_count);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->completed_count; i++) {
        PyObject *element = (PyObject *)elementFactory(self->document, self->completed[i]);
        if (element == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, element);
    }
    self->completed_count = 0;
    return list;
}

/*
 * Parse `size` bytes (terminate: the end of the document). The parse fails as lxml's
 * feed parser fails: on a chunk that libxml2 reports an error for or leaves the
 * document not well-formed, and, at the end, on any error found so far.
 */
static PyObject *
parse(RecordParser *self, const char *data, Py_ssize_t size, int terminate)
{
    if (self->context == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "RecordParser is not initialised");
        return NULL;
    }
    while (!self->failed) {
        int part = size > INT_MAX ? INT_MAX : (int)size;
        int last = terminate && part == size;
        int status;
        Py_BEGIN_ALLOW_THREADS
        status = parse_chunk(self->context, data, part, last);
        Py_END_ALLOW_THREADS
        if (status != 0 || !self->context->wellFormed || (last && self->error != NULL)) {
            self->failed = 1;
        }
        data += part;
        size -= part;
        if (size == 0) {
            break;
        }
    }
    if (self->failed && self->error == NULL) {
        self->error = Py_BuildValue("(siii)", "Document is not well formed", XML_ERR_INTERNAL_ERROR, 0, 0);
        if (self->error == NULL) {
            return NULL;
        }
    }
    return take_completed(self);
}

static PyObject *
record_parser_feed(RecordParser *self, PyObject *data)
{
    char *bytes;
    Py_ssize_t size;
    if (PyBytes_AsStringAndSize(data, &bytes, &size) < 0) {
        return NULL;
    }
    return parse(self, bytes, size, 0);
}

static PyObject *
record_parser_close(RecordParser *self, PyObject *unused)
{
    return parse(self, NULL, 0, 1);
}

static PyObject *
record_parser_root(RecordParser *self, void *unused)
{
    struct LxmlDocument *document = self->document;
    if (document == NULL) {
        Py_RETURN_NONE;
    }
    for (xmlNode *node = document->_c_doc->children; node != NULL; node = node->next) {
        if (node->type == XML_ELEMENT_NODE) {
            return (PyObject *)elementFactory(document, node);
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
record_parser_error(RecordParser *self, void *unused)
{
    return Py_NewRef(self->failed ? self->error : Py_None);
}

static void
record_parser_dealloc(RecordParser *self)
{
    if (self->context != NULL) {
        if (self->document != NULL) {
            self->context->myDoc = NULL; /* lxml's now */
        } else if (self->context->myDoc != NULL) {
            free_document(self->context->myDoc);
            self->context->myDoc = NULL;
        }
        free_parser_context(self->context);
    }
    Py_CLEAR(self->document);
    Py_CLEAR(self->error);
    PyMem_RawFree(self->completed);
    PyMem_RawFree(self->record_name);
    PyMem_RawFree(self->record_namespace);
    PyMem_RawFree(self->padding_target);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef record_parser_methods[] = {
    {"feed", (PyCFunction)record_parser_feed, METH_O,
     "feed(data) -> list: parse bytes; the records (and padding) completed, in document order."},
    {"close", (PyCFunction)record_parser_close, METH_NOARGS,
     "close() -> list: finish the document; the records (and padding) completed."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef record_parser_properties[] = {
    {"root", (getter)record_parser_root, NULL, "The document's root element, once read; else None.", NULL},
    {"error", (getter)record_parser_error, NULL, "The first error: (message, code, line, column); else None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject record_parser_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mcfcheck.native._fastread.RecordParser",
    .tp_basicsize = sizeof(RecordParser),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "RecordParser(namespace, name, padding_target=None): a push parser reporting records as they end.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)record_parser_init,
    .tp_dealloc = (destructor)record_parser_dealloc,
    .tp_methods = record_parser_methods,
    .tp_getset = record_parser_properties,
};

/* --- identifiers' key buffers ------------------------------------------------------ */

/*
 * The uniqueness rules record every identifier of a file (a dozen per installation) in a
 * KeyStore (mcfcheck/rules/keys.py): a 4-byte fingerprint and a fixed-width record, each
 * written to a file of its own. Done in Python, that is an encoding, a hash, a struct
 * packing and two appends for each, which measured more than all the other rules'
 * checks. A KeyBuffer does the same in C, byte for byte: the fingerprint is the CRC-32 of
 * the value's UTF-8 bytes (zlib.crc32, which the Python path uses); fingerprints and
 * records wait in memory and are written to the store's files in large writes, so that
 * what a store holds does not grow with the file.
 */

static uint32_t crc_table[256];

static void
build_crc_table(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
}

/* CRC-32 (ISO 3309, as zlib.crc32 computes it). */
static uint32_t
crc32_of(const unsigned char *data, Py_ssize_t size)
{
    uint32_t c = 0xFFFFFFFFu;
    for (Py_ssize_t i = 0; i < size; i++) {
        c = crc_table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

typedef struct {
    PyObject_HEAD
    int fd;                 /* the records' file */
    int marks_fd;           /* the fingerprints' file */
    Py_ssize_t value_bytes; /* the longest value recorded, in UTF-8 bytes */
    Py_ssize_t record_size; /* line and slot (4 bytes each, little-endian), length, value */
    Py_ssize_t flush_bytes; /* records (and their fingerprints) are written once this many wait */
    uint32_t *marks;        /* the waiting records' fingerprints: one per record */
    Py_ssize_t waiting;     /* how many records (and fingerprints) wait */
    Py_ssize_t count;       /* how many were recorded in all */
    unsigned char *pending;
    Py_ssize_t used;
} KeyBuffer;

static int
key_buffer_init(KeyBuffer *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fd", "value_bytes", "flush_bytes", "marks_fd", NULL};
    int fd, marks_fd;
    Py_ssize_t value_bytes, flush_bytes;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "inni", keywords, &fd, &value_bytes, &flush_bytes, &marks_fd)) {
        return -1;
    }
    if (fd < 0 || marks_fd < 0 || value_bytes < 1 || value_bytes > 255 || flush_bytes < 1) {
        PyErr_SetString(PyExc_ValueError,
                        "KeyBuffer() needs two file descriptors, 1-255 value bytes and a flush size");
        return -1;
    }
    if (self->pending != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "KeyBuffer() is initialised once");
        return -1;
    }
    self->fd = fd;
    self->marks_fd = marks_fd;
    self->value_bytes = value_bytes;
    self->record_size = 9 + value_bytes;
    self->flush_bytes = flush_bytes;
    /* Records are written as soon as flush_bytes of them wait: at most this many wait. */
    Py_ssize_t most = flush_bytes / self->record_size + 1;
    self->pending = PyMem_RawMalloc((size_t)(flush_bytes + self->record_size));
    self->marks = PyMem_RawMalloc((size_t)most * sizeof *self->marks);
    if (self->pending == NULL || self->marks == NULL) {
        PyMem_RawFree(self->pending);
        PyMem_RawFree(self->marks);
        self->pending = NULL;
        self->marks = NULL;
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
key_buffer_dealloc(KeyBuffer *self)
{
    PyMem_RawFree(self->marks);
    PyMem_RawFree(self->pending);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Write `size` bytes to `fd`; -1 with OSError set when that fails. */
static int
write_all(int fd, const unsigned char *data, Py_ssize_t size)
{
    Py_ssize_t written = 0;
    while (written < size) {
        ssize_t done;
        Py_BEGIN_ALLOW_THREADS
        done = write(fd, data + written, (size_t)(size - written));
        Py_END_ALLOW_THREADS
        if (done < 0) {
            if (errno == EINTR && PyErr_CheckSignals() == 0) {
                continue;
            }
            if (!PyErr_Occurred()) {
                PyErr_SetFromErrno(PyExc_OSError);
            }
            return -1;
        }
        written += done;
    }
    return 0;
}

/* Write the waiting records and their fingerprints to their files; -1 with OSError set when that fails. */
static int
key_buffer_write(KeyBuffer *self)
{
    if (write_all(self->fd, self->pending, self->used) < 0
        || write_all(self->marks_fd, (const unsigned char *)self->marks,
                     self->waiting * (Py_ssize_t)sizeof *self->marks) < 0) {
        return -1;
    }
    self->used = 0;
    self->waiting = 0;
    return 0;
}

static PyObject *
key_buffer_add(KeyBuffer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (self->pending == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "KeyBuffer is not initialised");
        return NULL;
    }
    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "add(value, line, slot=0) takes two or three arguments");
        return NULL;
    }
    if (!PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "add() takes the value as a str");
        return NULL;
    }
    Py_ssize_t length;
    const char *value = PyUnicode_AsUTF8AndSize(args[0], &length);
    if (value == NULL) {
        return NULL;
    }
    int overflow;
    long long line = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (line == -1 && PyErr_Occurred()) {
        return NULL;
    }
    long long slot = nargs == 3 ? PyLong_AsLongLong(args[2]) : 0;
    if (slot == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return NULL;
        }
        PyErr_Clear();
        slot = -1; /* out of range either way */
    }
    if (overflow < 0 || (overflow == 0 && line < 0) || slot < 0 || slot > 0xFFFFFFFFLL) {
        PyErr_SetString(PyExc_ValueError, "add() takes a line of at least 0 and a slot from 0 to 4,294,967,295");
        return NULL;
    }
    if (length > self->value_bytes) {
        Py_RETURN_NONE; /* longer than any identifier: the schema reports it */
    }
    /* A write that failed left its records waiting: they go first, or nothing more is taken. */
    if (self->used >= self->flush_bytes && key_buffer_write(self) < 0) {
        return NULL;
    }
    uint32_t stored_line = overflow > 0 || line > 0xFFFFFFFFLL ? 0xFFFFFFFFu : (uint32_t)line;
    self->marks[self->waiting++] = crc32_of((const unsigned char *)value, length);
    self->count++;
    unsigned char *record = self->pending + self->used;
    for (int i = 0; i < 4; i++) {
        record[i] = (unsigned char)(stored_line >> (8 * i));
        record[4 + i] = (unsigned char)((uint32_t)slot >> (8 * i));
    }
    record[8] = (unsigned char)length;
    memcpy(record + 9, value, (size_t)length);
    memset(record + 9 + length, 0, (size_t)(self->value_bytes - length));
    self->used += self->record_size;
    if (self->used >= self->flush_bytes && key_buffer_write(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
key_buffer_flush(KeyBuffer *self, PyObject *unused)
{
    if (self->pending != NULL && key_buffer_write(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
key_buffer_waiting(KeyBuffer *self, PyObject *unused)
{
    return PyBytes_FromStringAndSize((const char *)self->marks, self->waiting * (Py_ssize_t)sizeof *self->marks);
}

static Py_ssize_t
key_buffer_length(KeyBuffer *self)
{
    return self->count;
}

static PyMethodDef key_buffer_methods[] = {
    {"add", (PyCFunction)(void (*)(void))key_buffer_add, METH_FASTCALL,
     "add(value, line, slot=0): record an occurrence (a value longer than value_bytes is skipped)."},
    {"flush", (PyCFunction)key_buffer_flush, METH_NOARGS,
     "flush(): write the waiting records and fingerprints to their files."},
    {"waiting", (PyCFunction)key_buffer_waiting, METH_NOARGS,
     "waiting() -> bytes: the fingerprints not written yet, as native 4-byte unsigned integers."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods key_buffer_sequence = {
    .sq_length = (lenfunc)key_buffer_length,
};

static PyTypeObject key_buffer_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mcfcheck.native._fastread.KeyBuffer",
    .tp_basicsize = sizeof(KeyBuffer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "KeyBuffer(fd, value_bytes, flush_bytes, marks_fd): a key store's spilled records and fingerprints.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)key_buffer_init,
    .tp_dealloc = (destructor)key_buffer_dealloc,
    .tp_methods = key_buffer_methods,
    .tp_as_sequence = &key_buffer_sequence,
};

/*
 * At the end of a file, each key store looks for the fingerprints seen more than once,
 * and for where each of those occurs. numpy did it (a sort, then a pass), but importing
 * numpy took longer than the work, at the end of every file, when nothing else runs.
 * repeated_fingerprints() sorts a copy of the fingerprints (radix sort: three passes of
 * 11 bits) and makes a table of the values that repeat: a bitmap of their low 20 bits,
 * then the values themselves, sorted. repeated_positions() goes through a range of the
 * fingerprints and returns, in file order, the positions of those in the table: the
 * bitmap sorts out nearly every other fingerprint at once, and a binary search confirms
 * the rest. The store asks for a range at a time, so that what it holds at once stays
 * small however many occurrences repeat.
 */

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define FILTER_BITS 20
#define FILTER_BYTES ((1u << FILTER_BITS) / 8)

static void
radix_sort(uint32_t *values, uint32_t *scratch, Py_ssize_t count)
{
    size_t counts[RADIX_SIZE];
    for (int shift = 0; shift < 32; shift += RADIX_BITS) {
        memset(counts, 0, sizeof counts);
        for (Py_ssize_t i = 0; i < count; i++) {
            counts[(values[i] >> shift) & (RADIX_SIZE - 1)]++;
        }
        size_t total = 0;
        for (size_t digit = 0; digit < RADIX_SIZE; digit++) {
            size_t here = counts[digit];
            counts[digit] = total;
            total += here;
        }
        for (Py_ssize_t i = 0; i < count; i++) {
            scratch[counts[(values[i] >> shift) & (RADIX_SIZE - 1)]++] = values[i];
        }
        uint32_t *swap = values;
        values = scratch;
        scratch = swap;
    }
    /* Three passes: the sorted values are in the scratch array; copy them back. */
    memcpy(scratch, values, (size_t)count * sizeof *values);
}

/* The distinct values that occur more than once in `sorted`, in place at its start; their number. */
static Py_ssize_t
keep_repeated(uint32_t *sorted, Py_ssize_t count)
{
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 1; i < count; i++) {
        if (sorted[i] == sorted[i - 1] && (kept == 0 || sorted[kept - 1] != sorted[i])) {
            sorted[kept++] = sorted[i];
        }
    }
    return kept;
}

static int
is_repeated(const uint32_t *repeated, Py_ssize_t count, const uint8_t *filter, uint32_t value)
{
    uint32_t low = value & ((1u << FILTER_BITS) - 1);
    if (!(filter[low >> 3] & (1u << (low & 7)))) {
        return 0;
    }
    Py_ssize_t first = 0, last = count;
    while (first < last) {
        Py_ssize_t middle = first + (last - first) / 2;
        if (repeated[middle] < value) {
            first = middle + 1;
        } else {
            last = middle;
        }
    }
    return first < count && repeated[first] == value;
}

/* A buffer of whole 4-byte fingerprints; -1 with ValueError set when it is not one. */
static int
get_fingerprints(PyObject *data, Py_buffer *view, const char *function)
{
    if (PyObject_GetBuffer(data, view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (view->len % (Py_ssize_t)sizeof(uint32_t) != 0) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s() takes whole 4-byte fingerprints", function);
        return -1;
    }
    return 0;
}

/*
 * A sorted copy of the fingerprints in `data` (their number in `count`), to
 * PyMem_RawFree(); NULL with ValueError or MemoryError set.
 */
static uint32_t *
sorted_fingerprints(PyObject *data, const char *function, Py_ssize_t *count)
{
    Py_buffer view;
    if (get_fingerprints(data, &view, function) < 0) {
        return NULL;
    }
    *count = view.len / (Py_ssize_t)sizeof(uint32_t);
    uint32_t *sorted = PyMem_RawMalloc((size_t)(*count ? *count : 1) * sizeof *sorted);
    uint32_t *scratch = PyMem_RawMalloc((size_t)(*count ? *count : 1) * sizeof *scratch);
    if (sorted == NULL || scratch == NULL) {
        PyMem_RawFree(sorted);
        PyMem_RawFree(scratch);
        PyBuffer_Release(&view);
        PyErr_NoMemory();
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    memcpy(sorted, view.buf, (size_t)*count * sizeof *sorted);
    radix_sort(sorted, scratch, *count);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(scratch);
    PyBuffer_Release(&view);
    return sorted;
}

static PyObject *
repeated_fingerprints(PyObject *module, PyObject *data)
{
    Py_ssize_t count;
    uint32_t *sorted = sorted_fingerprints(data, "repeated_fingerprints", &count);
    if (sorted == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t repeated = keep_repeated(sorted, count);
    if (repeated == 0) {
        result = PyBytes_FromStringAndSize(NULL, 0);
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, FILTER_BYTES + repeated * (Py_ssize_t)sizeof(uint32_t));
    if (result == NULL) {
        goto done;
    }
    uint8_t *filter = (uint8_t *)PyBytes_AS_STRING(result);
    memset(filter, 0, FILTER_BYTES);
    for (Py_ssize_t i = 0; i < repeated; i++) {
        uint32_t low = sorted[i] & ((1u << FILTER_BITS) - 1);
        filter[low >> 3] |= (uint8_t)(1u << (low & 7));
    }
    memcpy(filter + FILTER_BYTES, sorted, (size_t)repeated * sizeof *sorted);
done:
    PyMem_RawFree(sorted);
    return result;
}

static PyObject *
repeated_positions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "repeated_positions(fingerprints, table, start, stop) takes four arguments");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[2]);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t stop = PyLong_AsSsize_t(args[3]);
    if (stop == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer view, table;
    if (get_fingerprints(args[0], &view, "repeated_positions") < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &table, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t count = view.len / (Py_ssize_t)sizeof(uint32_t);
    if (table.len != 0 && (table.len < (Py_ssize_t)FILTER_BYTES || (table.len - FILTER_BYTES) % sizeof(uint32_t))) {
        PyErr_SetString(PyExc_ValueError, "repeated_positions() takes a table made by repeated_fingerprints()");
        goto done;
    }
    start = start < 0 ? 0 : (start > count ? count : start);
    stop = stop < start ? start : (stop > count ? count : stop);
    if (table.len == 0 || stop == start) {
        result = PyBytes_FromStringAndSize(NULL, 0);
        goto done;
    }
    const uint32_t *marks = view.buf;
    const uint8_t *filter = table.buf;
    const uint32_t *repeated = (const uint32_t *)(filter + FILTER_BYTES);
    Py_ssize_t repeated_count = (table.len - FILTER_BYTES) / (Py_ssize_t)sizeof(uint32_t);
    uint64_t *found = PyMem_RawMalloc((size_t)(stop - start) * sizeof *found);
    if (found == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t kept = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = start; i < stop; i++) {
        if (is_repeated(repeated, repeated_count, filter, marks[i])) {
            found[kept++] = (uint64_t)i;
        }
    }
    Py_END_ALLOW_THREADS
    result = PyBytes_FromStringAndSize((const char *)found, kept * (Py_ssize_t)sizeof *found);
    PyMem_RawFree(found);
done:
    PyBuffer_Release(&table);
    PyBuffer_Release(&view);
    return result;
}

/*
 * A file's fingerprints are searched a range of values at a time, so that what is held
 * at once does not grow with the file (keys.py, KeyStore._repeated_tables):
 * fingerprints_in_range() picks a range's fingerprints out of a block read from disk,
 * and fingerprints_at_most_twice() shrinks what has been picked when it grows large: a
 * value kept twice is known to repeat, which is all the search needs to know of it.
 */

static PyObject *
fingerprints_in_range(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "fingerprints_in_range(fingerprints, low, high) takes three arguments");
        return NULL;
    }
    unsigned long long low = PyLong_AsUnsignedLongLong(args[1]);
    if (low == (unsigned long long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    unsigned long long high = PyLong_AsUnsignedLongLong(args[2]);
    if (high == (unsigned long long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer view;
    if (get_fingerprints(args[0], &view, "fingerprints_in_range") < 0) {
        return NULL;
    }
    Py_ssize_t count = view.len / (Py_ssize_t)sizeof(uint32_t);
    uint32_t *kept = PyMem_RawMalloc((size_t)(count ? count : 1) * sizeof *kept);
    PyObject *result = NULL;
    if (kept == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const uint32_t *marks = view.buf;
    Py_ssize_t found = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        /* Branch-free: nearly every fingerprint is in a range or out of it at random. */
        kept[found] = marks[i];
        found += marks[i] >= low && marks[i] < high;
    }
    Py_END_ALLOW_THREADS
    result = PyBytes_FromStringAndSize((const char *)kept, found * (Py_ssize_t)sizeof *kept);
    PyMem_RawFree(kept);
done:
    PyBuffer_Release(&view);
    return result;
}

static PyObject *
fingerprints_at_most_twice(PyObject *module, PyObject *data)
{
    Py_ssize_t count;
    uint32_t *sorted = sorted_fingerprints(data, "fingerprints_at_most_twice", &count);
    if (sorted == NULL) {
        return NULL;
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (kept < 2 || sorted[i] != sorted[kept - 2]) {
            sorted[kept++] = sorted[i];
        }
    }
    PyObject *result = PyBytes_FromStringAndSize((const char *)sorted, kept * (Py_ssize_t)sizeof *sorted);
    PyMem_RawFree(sorted);
    return result;
}

/* --- counting lines --------------------------------------------------------------- */

/*
 * The line feeds in `data`. Blocks of 255 x 16 bytes are counted in 16 one-byte
 * counters, which cannot overflow there: the compiler turns the inner loop into one
 * vector comparison and subtraction per 16 bytes. (Counting straight into a wide total
 * makes it widen every comparison, ten times the instructions.)
 */
#define COUNTERS 16
#define BLOCK_ROUNDS 255
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O3")))
#endif
static Py_ssize_t
line_feeds(const unsigned char *data, Py_ssize_t size)
{
    Py_ssize_t count = 0;
    Py_ssize_t i = 0;
    while (size - i >= COUNTERS * BLOCK_ROUNDS) {
        unsigned char counters[COUNTERS] = {0};
        for (int round = 0; round < BLOCK_ROUNDS; round++, i += COUNTERS) {
            for (int k = 0; k < COUNTERS; k++) {
                counters[k] += data[i + k] == '\n';
            }
        }
        for (int k = 0; k < COUNTERS; k++) {
            count += counters[k];
        }
    }
    for (; i < size; i++) {
        count += data[i] == '\n';
    }
    return count;
}

/*
 * Splitting a large file into parts needs the line each part starts on: the process
 * that splits counts the line feeds of the whole file while the workers validate.
 * bytes.count() does it a byte at a time and took a core's second per gigabyte, away
 * from the workers.
 */
static PyObject *
count_lines(PyObject *module, PyObject *data)
{
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_ssize_t count;
    Py_BEGIN_ALLOW_THREADS
    count = line_feeds(view.buf, view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(count);
}

/* line_feed_positions(data) -> bytes: where each line feed of ``data`` is, as native 4-byte unsigned integers
 * (an array('I')), for the column of a schema finding; memchr from one to the next. */
static PyObject *
line_feed_positions(PyObject *module, PyObject *data)
{
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (view.len > (Py_ssize_t)UINT32_MAX) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "line_feed_positions: more than 4 GiB");
        return NULL;
    }
    const unsigned char *bytes = view.buf;
    Py_ssize_t count;
    Py_BEGIN_ALLOW_THREADS
    count = line_feeds(bytes, view.len);
    Py_END_ALLOW_THREADS
    PyObject *positions = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(uint32_t));
    if (positions == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    uint32_t *out = (uint32_t *)PyBytes_AS_STRING(positions);
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *at = bytes, *end = bytes + view.len;
    Py_ssize_t found = 0;
    while (found < count && (at = memchr(at, '\n', (size_t)(end - at))) != NULL) {
        out[found++] = (uint32_t)(at - bytes);
        at++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return positions;
}

/* --- cutting installations from bytes ---------------------------------------------- */

/*
 * split, merge and extract copy installations byte for byte, cut from the input without
 * parsing it (mcfcheck/input/cut.py, which says what an installation's bytes are). Done
 * in Python, the cut took 1.3 s of a core per gigabyte, in a thread that held the
 * interpreter while the workers' results waited; here it is a scan with memchr and
 * memmem, the interpreter released.
 */

typedef enum { CUT_NEED_MORE = 0, CUT_DONE = 1, CUT_SELF_CLOSING = -1, CUT_NO_END_TAG = -2, CUT_NO_MEMORY = -3 } CutStatus;

static inline int
name_start_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static inline int
name_byte(unsigned char c)
{
    return name_start_byte(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Whether the record's name, then white space, '>' or '/', is at data[at]: 1, 0, or -1 (the data ends first). */
static inline int
record_at(const unsigned char *data, Py_ssize_t size, Py_ssize_t at, const char *record, Py_ssize_t length)
{
    Py_ssize_t have = size - at;
    Py_ssize_t compared = have < length ? have : length;
    if (memcmp(data + at, record, (size_t)compared) != 0) {
        return 0;
    }
    if (have <= length) {
        return -1;
    }
    unsigned char next = data[at + length];
    return next == ' ' || next == '\t' || next == '\n' || next == '\r' || next == '\f' || next == '\v' ||
           next == '>' || next == '/';
}

/*
 * The start tag at data[at] ('<'), if it is the record's (with or without a prefix): where
 * the name ends (after the prefix and the record's name), 0 if it is not the record's, -1
 * if the data ends before that can be told.
 */
static Py_ssize_t
record_start(const unsigned char *data, Py_ssize_t size, Py_ssize_t at, const char *record, Py_ssize_t length)
{
    Py_ssize_t name = at + 1;
    if (name < size && name_start_byte(data[name])) {
        Py_ssize_t end = name + 1;
        while (end < size && name_byte(data[end])) {
            end++;
        }
        if (end == size) {
            return -1;
        }
        if (data[end] == ':') {
            int found = record_at(data, size, end + 1, record, length);
            if (found) {
                return found < 0 ? -1 : end + 1 + length;
            }
        }
    }
    if (name >= size) {
        return -1;
    }
    int found = record_at(data, size, name, record, length);
    return found < 0 ? -1 : (found ? name + length : 0);
}

/*
 * Where the start tag whose name (after any prefix) is at data[name] begins, if it is the
 * record's: the '<' before the name or before its prefix; -1 if there is none at or after
 * ``from``.
 */
static Py_ssize_t
tag_before(const unsigned char *data, Py_ssize_t from, Py_ssize_t name)
{
    if (name - 1 >= from && data[name - 1] == '<') {
        return name - 1;
    }
    if (name - 1 < from || data[name - 1] != ':') {
        return -1;
    }
    Py_ssize_t first = name - 1;
    while (first - 1 >= from && name_byte(data[first - 1])) {
        first--;
    }
    if (first == name - 1 || first - 1 < from || data[first - 1] != '<' || !name_start_byte(data[first])) {
        return -1;
    }
    return first - 1;
}

/* Where the end tag named ``closing`` ("</" and the start tag's name) ends, from data[look] on. */
static CutStatus
end_of(const unsigned char *data, Py_ssize_t size, Py_ssize_t look, const unsigned char *closing, Py_ssize_t length,
       int ended, Py_ssize_t *finish)
{
    for (;;) {
        const unsigned char *found = look < size ? memmem(data + look, (size_t)(size - look), closing, (size_t)length) : NULL;
        if (found == NULL) {
            return ended ? CUT_NO_END_TAG : CUT_NEED_MORE;
        }
        Py_ssize_t rest = found - data + length;
        while (rest < size && (data[rest] == ' ' || data[rest] == '\t' || data[rest] == '\r' || data[rest] == '\n')) {
            rest++;
        }
        if (rest == size && !ended) {
            return CUT_NEED_MORE;
        }
        if (rest < size && data[rest] == '>') {
            *finish = rest + 1;
            return CUT_DONE;
        }
        look = found - data + 1; /* a longer name that starts with this one: look on */
    }
}

typedef struct {
    int64_t *spans;
    Py_ssize_t count, room;
} Spans;

static int
add_span(Spans *spans, int64_t line, int64_t begin, int64_t finish)
{
    if (spans->count + 3 > spans->room) {
        Py_ssize_t more = spans->room ? spans->room * 2 : 3 * 1024;
        int64_t *grown = PyMem_RawRealloc(spans->spans, (size_t)more * sizeof *grown);
        if (grown == NULL) {
            return -1;
        }
        spans->spans = grown;
        spans->room = more;
    }
    spans->spans[spans->count++] = line;
    spans->spans[spans->count++] = begin;
    spans->spans[spans->count++] = finish;
    return 0;
}

/*
 * Cut the installations in data[position:]: each as (line, base + begin, base + end),
 * until the data ends in one or at the errors above. The record's name is searched for
 * (memmem), and a start tag told from the bytes before it; line is counted from
 * (counted, line): the line that position ``counted`` is on.
 */
static CutStatus
cut_spans_in(const unsigned char *data, Py_ssize_t size, Py_ssize_t *position, int ended, const char *record,
             Py_ssize_t length, Py_ssize_t *counted, Py_ssize_t *line, int64_t base, Spans *spans)
{
    unsigned char short_closing[256];
    for (;;) {
        Py_ssize_t at = *position, begin = -1, name_end = 0;
        /* The next start tag of the record. */
        while (begin < 0) {
            const unsigned char *found = at < size ? memmem(data + at, (size_t)(size - at), record, (size_t)length) : NULL;
            if (found == NULL) {
                if (ended) {
                    *position = size;
                    return CUT_DONE;
                }
                /* A start tag may be cut at the end: look again from the last '<'. */
                const unsigned char *last = at < size ? memrchr(data + at, '<', (size_t)(size - at)) : NULL;
                *position = last != NULL ? last - data : size;
                return CUT_NEED_MORE;
            }
            Py_ssize_t lt = tag_before(data, *position, found - data);
            if (lt >= 0) {
                Py_ssize_t end = record_start(data, size, lt, record, length);
                if (end < 0 && !ended) {
                    *position = lt;
                    return CUT_NEED_MORE;
                }
                if (end == found - data + length) {
                    begin = lt;
                    name_end = end;
                }
            }
            at = found - data + 1;
        }
        /* Its end: "/>" right after the name, or the first end tag of the same name. */
        Py_ssize_t finish = -1;
        CutStatus status;
        if (data[name_end] == '/') {
            if (name_end + 1 >= size && !ended) {
                status = CUT_NEED_MORE;
            } else if (name_end + 1 >= size || data[name_end + 1] != '>') {
                status = CUT_SELF_CLOSING;
            } else {
                finish = name_end + 2;
                status = CUT_DONE;
            }
        } else {
            Py_ssize_t closing_length = name_end - begin + 1; /* "</" and the (prefixed) name */
            unsigned char *closing = short_closing;
            if (closing_length > (Py_ssize_t)sizeof short_closing) {
                closing = PyMem_RawMalloc((size_t)closing_length);
                if (closing == NULL) {
                    return CUT_NO_MEMORY;
                }
            }
            closing[0] = '<';
            closing[1] = '/';
            memcpy(closing + 2, data + begin + 1, (size_t)(closing_length - 2));
            status = end_of(data, size, name_end + 1, closing, closing_length, ended, &finish);
            if (closing != short_closing) {
                PyMem_RawFree(closing);
            }
        }
        if (status != CUT_DONE) {
            *position = begin;
            return status;
        }
        *line += line_feeds(data + *counted, begin - *counted);
        *counted = begin;
        if (add_span(spans, *line, base + begin, base + finish) < 0) {
            return CUT_NO_MEMORY;
        }
        *position = finish;
    }
}

static PyObject *
cut_spans(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "cut_spans(data, position, record, ended, counted, line, base) takes seven arguments");
        return NULL;
    }
    Py_ssize_t numbers[4];
    const int at[4] = {1, 4, 5, 6};
    for (int i = 0; i < 4; i++) {
        numbers[i] = PyLong_AsSsize_t(args[at[i]]);
        if (numbers[i] == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    Py_ssize_t position = numbers[0], counted = numbers[1], line = numbers[2], base = numbers[3];
    if (!PyBytes_Check(args[2]) || PyBytes_GET_SIZE(args[2]) == 0) {
        PyErr_SetString(PyExc_TypeError, "cut_spans() takes the record's name as non-empty bytes");
        return NULL;
    }
    int ended = PyObject_IsTrue(args[3]);
    if (ended < 0) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (position < 0 || position > view.len || counted < 0 || counted > position) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "cut_spans() takes 0 <= counted <= position <= len(data)");
        return NULL;
    }
    Spans spans = {NULL, 0, 0};
    CutStatus status;
    const char *record = PyBytes_AS_STRING(args[2]);
    Py_ssize_t length = PyBytes_GET_SIZE(args[2]);
    Py_BEGIN_ALLOW_THREADS
    status = cut_spans_in(view.buf, view.len, &position, ended, record, length, &counted, &line, base, &spans);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (status == CUT_NO_MEMORY) {
        PyMem_RawFree(spans.spans);
        return PyErr_NoMemory();
    }
    PyObject *cut = PyBytes_FromStringAndSize((const char *)spans.spans, spans.count * (Py_ssize_t)sizeof *spans.spans);
    PyMem_RawFree(spans.spans);
    if (cut == NULL) {
        return NULL;
    }
    return Py_BuildValue("(Nninn)", cut, position, (int)status, counted, line);
}

/* --- the allocator ---------------------------------------------------------------- */

/*
 * Validating an installation frees some hundred small blocks (libxml2's nodes, Python's
 * objects) and then asks for a few larger ones. glibc's malloc keeps small freed blocks
 * in "fast bins" and, before it serves a larger request, merges every one of them back:
 * malloc_consolidate() was the costliest single function in a profile of mcfcheck.
 * Without fast bins, freed blocks are merged as they are freed (or kept in the per-thread
 * cache), which measured 4-8% less CPU time overall. glibc only; elsewhere a no-op.
 */
static PyObject *
tune_allocator(PyObject *module, PyObject *unused)
{
#ifdef M_MXFAST
    if (mallopt(M_MXFAST, 0) == 1) {
        Py_RETURN_TRUE;
    }
#endif
    Py_RETURN_FALSE;
}

/* --- the module ---------------------------------------------------------------- */

/*
 * Bind to the installed lxml: it must be the version this module was compiled against
 * (the C API's structures follow it); its element class; and libxml2's xmlGetLineNo(),
 * from the lxml module that holds libxml2 (already loaded).
 */
static int
bind_lxml(PyObject *etree)
{
    PyObject *version = PyObject_GetAttrString(etree, "__version__");
    if (version == NULL) {
        return -1;
    }
    int same = PyUnicode_CompareWithASCIIString(version, LXML_VERSION_STRING) == 0;
    Py_DECREF(version);
    if (!same) {
        PyErr_Format(PyExc_ImportError, "compiled against lxml %s, not the installed one", LXML_VERSION_STRING);
        return -1;
    }
    element_type = (PyTypeObject *)PyObject_GetAttrString(etree, "_Element");
    if (element_type == NULL || !PyType_Check(element_type)) {
        PyErr_SetString(PyExc_ImportError, "lxml.etree._Element is not a type");
        return -1;
    }
    PyObject *path = PyObject_GetAttrString(etree, "__file__");
    if (path == NULL) {
        return -1;
    }
    const char *file = PyUnicode_AsUTF8(path);
    void *library = file != NULL ? dlopen(file, RTLD_NOW | RTLD_NOLOAD) : NULL;
    Py_DECREF(path);
    if (library == NULL) {
        PyErr_SetString(PyExc_ImportError, "lxml's module holding libxml2 is not loaded");
        return -1;
    }
    struct {
        void **slot;
        const char *name;
    } functions[] = {
        {(void **)&get_line_number, "xmlGetLineNo"},
        {(void **)&create_push_parser, "xmlCreatePushParserCtxt"},
        {(void **)&use_options, "xmlCtxtUseOptions"},
        {(void **)&parse_chunk, "xmlParseChunk"},
        {(void **)&free_parser_context, "xmlFreeParserCtxt"},
        {(void **)&set_error_handler, "xmlCtxtSetErrorHandler"},
        {(void **)&stop_parser, "xmlStopParser"},
        {(void **)&free_document, "xmlFreeDoc"},
    };
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
        *functions[i].slot = dlsym(library, functions[i].name);
        if (*functions[i].slot == NULL) {
            PyErr_Format(PyExc_ImportError, "libxml2's %s is not reachable through lxml", functions[i].name);
            return -1;
        }
    }
    return 0;
}

/* held_identifiers(prefixes, kinds, values) -> bytes: for each value, its kind's number (a byte of kinds)
 * and the 8-byte BLAKE2b hash of its kind's prefix (prefixes[kind]) and its UTF-8 bytes, one after the other
 * (mcfcheck.rules.holdings). */
static PyObject *
held_identifiers(PyObject *module, PyObject *const *arguments, Py_ssize_t count)
{
    (void)module;
    if (count != 3 || !PyTuple_Check(arguments[0]) || !PyBytes_Check(arguments[1]) || !PyList_Check(arguments[2])) {
        PyErr_SetString(PyExc_TypeError, "held_identifiers(prefixes: tuple[bytes, ...], kinds: bytes, values: list[str])");
        return NULL;
    }
    PyObject *prefixes = arguments[0], *values = arguments[2];
    const unsigned char *kinds = (const unsigned char *)PyBytes_AS_STRING(arguments[1]);
    Py_ssize_t size = PyList_GET_SIZE(values);
    if (PyBytes_GET_SIZE(arguments[1]) != size) {
        PyErr_SetString(PyExc_ValueError, "held_identifiers: a kind for each value");
        return NULL;
    }
    PyObject *held = PyBytes_FromStringAndSize(NULL, 9 * size);
    if (held == NULL) {
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(held);
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (kinds[i] >= PyTuple_GET_SIZE(prefixes) || !PyBytes_Check(PyTuple_GET_ITEM(prefixes, kinds[i]))
            || !PyUnicode_Check(value)) {
            Py_DECREF(held);
            PyErr_SetString(PyExc_ValueError, "held_identifiers: a kind without a prefix, or a value not a str");
            return NULL;
        }
        Py_ssize_t length;
        const char *text = PyUnicode_AsUTF8AndSize(value, &length);
        if (text == NULL) {
            Py_DECREF(held);
            return NULL;
        }
        PyObject *prefix = PyTuple_GET_ITEM(prefixes, kinds[i]);
        Blake2b state;
        blake2b_start(&state, 8);
        blake2b_update(&state, (const unsigned char *)PyBytes_AS_STRING(prefix), (size_t)PyBytes_GET_SIZE(prefix));
        blake2b_update(&state, (const unsigned char *)text, (size_t)length);
        out[9 * i] = kinds[i];
        blake2b_finish8(&state, out + 9 * i + 1);
    }
    return held;
}

static PyMethodDef methods[] = {
    {"count_lines", count_lines, METH_O, "count_lines(data) -> int: the line feeds in a bytes-like object."},
    {"line_feed_positions", line_feed_positions, METH_O,
     "line_feed_positions(data) -> bytes: where each line feed is, as native 4-byte unsigned integers."},
    {"repeated_fingerprints", repeated_fingerprints, METH_O,
     "repeated_fingerprints(fingerprints) -> bytes: the table of the fingerprints seen more than once."},
    {"repeated_positions", (PyCFunction)(void (*)(void))repeated_positions, METH_FASTCALL,
     "repeated_positions(fingerprints, table, start, stop) -> bytes: the positions of repeated fingerprints."},
    {"fingerprints_in_range", (PyCFunction)(void (*)(void))fingerprints_in_range, METH_FASTCALL,
     "fingerprints_in_range(fingerprints, low, high) -> bytes: those from low up to (not including) high."},
    {"fingerprints_at_most_twice", fingerprints_at_most_twice, METH_O,
     "fingerprints_at_most_twice(fingerprints) -> bytes: sorted, each value kept at most twice."},
    {"cut_spans", (PyCFunction)(void (*)(void))cut_spans, METH_FASTCALL,
     "cut_spans(data, position, record, ended, counted, line, base) -> tuple: installations cut from bytes (see _fastread.pyi)."},
    {"tune_allocator", tune_allocator, METH_NOARGS,
     "tune_allocator() -> bool: turn off glibc malloc's fast bins in this process; whether it did."},
    {"held_identifiers", (PyCFunction)(void (*)(void))held_identifiers, METH_FASTCALL,
     "held_identifiers(prefixes, kinds, values) -> bytes: each value's kind and fingerprint (see _fastread.pyi)."},
    {"read_installation", (PyCFunction)(void (*)(void))read_installation, METH_FASTCALL,
     "read_installation(element, plan) -> tuple: an installation's fields, read by a Plan (see _fastread.pyi)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "mcfcheck.native._fastread",
    "Installations found and read on libxml2's tree in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__fastread(void)
{
    PyObject *etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL) {
        return NULL;
    }
    int bound = bind_lxml(etree);
    Py_DECREF(etree);
    if (bound < 0 || import_lxml__etree() < 0) {
        return NULL;
    }
    if (PyType_Ready(&record_parser_type) < 0 || PyType_Ready(&key_buffer_type) < 0 || PyType_Ready(&plan_type) < 0) {
        return NULL;
    }
    build_crc_table();
    PyObject *module = PyModule_Create(&module_definition);
    if (module != NULL
        && (PyModule_AddStringConstant(module, "LXML_VERSION", LXML_VERSION_STRING) < 0
            || PyModule_AddObjectRef(module, "RecordParser", (PyObject *)&record_parser_type) < 0
            || PyModule_AddObjectRef(module, "KeyBuffer", (PyObject *)&key_buffer_type) < 0
            || PyModule_AddObjectRef(module, "Plan", (PyObject *)&plan_type) < 0)) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
