/*
 * Reading an installation's fields straight from libxml2's tree, for the rules' view.
 *
 * The installation view (mcfcheck/rules/views.py) reads some forty elements of each
 * installation. Through lxml's Python API that makes a Python proxy object per element
 * and builds its namespaced tag as a string, which costs more than all the rules'
 * checks together. This module walks the same elements in C, through lxml's public C
 * API (the element's libxml2 node, lxml's own textOf() for text), and hands the view
 * a tuple of plain values. Only the devices, which rules point problems at, get a
 * proxy.
 *
 * Line numbers come from libxml2's xmlGetLineNo(), looked up in the lxml module that
 * holds libxml2, so that they are exactly lxml's `sourceline`.
 *
 * The view falls back to reading through lxml's Python API when this module is not
 * built or does not match the installed lxml; a test compares both readings field by
 * field. The layout of the tuples is documented in _fastread.pyi.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <string.h>

#include <libxml/tree.h>
#include "lxml-version.h"
#include "lxml.etree_api.h"

typedef long (*line_function)(const xmlNode *);
static line_function get_line_number = NULL;
/* lxml's element class, lxml.etree._Element. */
static PyTypeObject *element_type = NULL;

/* --- small helpers ------------------------------------------------------------- */

static int
is_named(const xmlNode *node, const xmlChar *namespace_href, const char *name)
{
    if (node->type != XML_ELEMENT_NODE || strcmp((const char *)node->name, name) != 0) {
        return 0;
    }
    if (node->ns == NULL || node->ns->href == NULL) {
        return namespace_href == NULL;
    }
    return namespace_href != NULL && strcmp((const char *)node->ns->href, (const char *)namespace_href) == 0;
}

/* The element's text as lxml's `.text` gives it, stripped as str.strip() does; None when it has none. */
static PyObject *
stripped_text(xmlNode *node)
{
    PyObject *text = textOf(node);
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
put_text(PyObject **slot, xmlNode *node)
{
    return put(slot, stripped_text(node));
}

static int
put_line(PyObject **slot, const xmlNode *node)
{
    return put(slot, line_of(node));
}

static void
release(PyObject **slots, int count)
{
    for (int i = 0; i < count; i++) {
        Py_CLEAR(slots[i]);
    }
}

/* Move the slots into a new tuple, None for those never set. */
static PyObject *
as_tuple(PyObject **slots, int count)
{
    PyObject *tuple = PyTuple_New(count);
    if (tuple == NULL) {
        release(slots, count);
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        PyObject *value = slots[i] != NULL ? slots[i] : Py_NewRef(Py_None);
        slots[i] = NULL;
        PyTuple_SET_ITEM(tuple, i, value);
    }
    return tuple;
}

/* --- devices ------------------------------------------------------------------- */

enum {
    DEVICE_ELEMENT,
    DEVICE_TYPE,
    DEVICE_ID,
    DEVICE_ID_LINE,
    DEVICE_MANUFACTURER,
    DEVICE_MODEL,
    DEVICE_FIRMWARE_VERSION,
    DEVICE_PAYMENT_MODE,
    DEVICE_AUXILIARY_LOAD,
    DEVICE_SLOTS
};

static PyObject *
read_device(struct LxmlDocument *document, xmlNode *device, const xmlChar *ns)
{
    PyObject *slots[DEVICE_SLOTS] = {NULL};
    if (put(&slots[DEVICE_ELEMENT], (PyObject *)elementFactory(document, device)) < 0) {
        goto error;
    }
    for (xmlNode *child = device->children; child != NULL; child = child->next) {
        if (child->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (is_named(child, ns, "DeviceID")) {
            if (put_text(&slots[DEVICE_ID], child) < 0 || put_line(&slots[DEVICE_ID_LINE], child) < 0) {
                goto error;
            }
        } else if (is_named(child, ns, "DeviceType")) {
            PyObject *text = stripped_text(child);
            if (text == Py_None) {
                Py_SETREF(text, PyUnicode_FromStringAndSize("", 0));
            }
            if (put(&slots[DEVICE_TYPE], text) < 0) {
                goto error;
            }
        } else if (is_named(child, ns, "DeviceModel")) {
            for (xmlNode *part = child->children; part != NULL; part = part->next) {
                int index = is_named(part, ns, "Manufacturer")      ? DEVICE_MANUFACTURER
                            : is_named(part, ns, "Model")           ? DEVICE_MODEL
                            : is_named(part, ns, "FirmwareVersion") ? DEVICE_FIRMWARE_VERSION
                                                                    : -1;
                if (index >= 0 && put_text(&slots[index], part) < 0) {
                    goto error;
                }
            }
        } else if (is_named(child, ns, "PaymentMode")) {
            if (put_text(&slots[DEVICE_PAYMENT_MODE], child) < 0) {
                goto error;
            }
        } else if (is_named(child, ns, "AuxiliaryLoad")) {
            if (put_text(&slots[DEVICE_AUXILIARY_LOAD], child) < 0) {
                goto error;
            }
        }
    }
    if (slots[DEVICE_ID_LINE] == NULL && put(&slots[DEVICE_ID_LINE], PyLong_FromLong(0)) < 0) {
        goto error;
    }
    return as_tuple(slots, DEVICE_SLOTS);
error:
    release(slots, DEVICE_SLOTS);
    return NULL;
}

/* --- installations ------------------------------------------------------------- */

enum {
    REFERENCE,
    REFERENCE_LINE,
    STATUS,
    MPAN,
    MPAN_LINE,
    MPRN,
    MPRN_LINE,
    HUB,
    ICCID,
    ICCID_LINE,
    IMSI,
    IMSI_LINE,
    STATIC_IP,
    STATIC_IP_LINE,
    APN,
    DEVICES,
    PREPAYMENT,
    UTRN_CUTOVER_HOURS,
    DORMANT_NOTICE,
    FIRMWARE_NOTICE_DATE,
    PLANNED_UPGRADE_DATE,
    MIGRATION_NOTICE_DATE,
    PLANNED_MIGRATION_DATE,
    SHORTER_NOTICE_AGREED,
    INSTALLATION_SLOTS
};

static int
read_meter_points(PyObject **slots, xmlNode *points, const xmlChar *ns)
{
    for (xmlNode *point = points->children; point != NULL; point = point->next) {
        if (is_named(point, ns, "MPANCore")) {
            if (put_text(&slots[MPAN], point) < 0 || put_line(&slots[MPAN_LINE], point) < 0) {
                return -1;
            }
        } else if (is_named(point, ns, "MPRN")) {
            if (put_text(&slots[MPRN], point) < 0 || put_line(&slots[MPRN_LINE], point) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

static int
read_hub(PyObject **slots, struct LxmlDocument *document, xmlNode *hub, const xmlChar *ns)
{
    if (put(&slots[HUB], read_device(document, hub, ns)) < 0) {
        return -1;
    }
    for (xmlNode *child = hub->children; child != NULL; child = child->next) {
        if (!is_named(child, ns, "WAN")) {
            continue;
        }
        for (xmlNode *setting = child->children; setting != NULL; setting = setting->next) {
            int index = is_named(setting, ns, "ICCID")             ? ICCID
                        : is_named(setting, ns, "IMSI")            ? IMSI
                        : is_named(setting, ns, "StaticIPAddress") ? STATIC_IP
                        : is_named(setting, ns, "APN")             ? APN
                                                                   : -1;
            if (index < 0) {
                continue;
            }
            if (put_text(&slots[index], setting) < 0) {
                return -1;
            }
            if (index != APN && put_line(&slots[index + 1], setting) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

static int
read_devices(PyObject **slots, struct LxmlDocument *document, xmlNode *devices, const xmlChar *ns)
{
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return -1;
    }
    for (xmlNode *device = devices->children; device != NULL; device = device->next) {
        if (!is_named(device, ns, "Device")) {
            continue;
        }
        PyObject *fields = read_device(document, device, ns);
        if (fields == NULL || PyList_Append(list, fields) < 0) {
            Py_XDECREF(fields);
            Py_DECREF(list);
            return -1;
        }
        Py_DECREF(fields);
    }
    return put(&slots[DEVICES], list);
}

static int
read_notice(PyObject **slots, xmlNode *notice, const xmlChar *ns)
{
    if (put(&slots[DORMANT_NOTICE], Py_NewRef(Py_True)) < 0) {
        return -1;
    }
    for (xmlNode *child = notice->children; child != NULL; child = child->next) {
        int index = is_named(child, ns, "FirmwareNoticeDate")     ? FIRMWARE_NOTICE_DATE
                    : is_named(child, ns, "PlannedUpgradeDate")   ? PLANNED_UPGRADE_DATE
                    : is_named(child, ns, "MigrationNoticeDate")  ? MIGRATION_NOTICE_DATE
                    : is_named(child, ns, "PlannedMigrationDate") ? PLANNED_MIGRATION_DATE
                    : is_named(child, ns, "ShorterNoticeAgreed")  ? SHORTER_NOTICE_AGREED
                                                                  : -1;
        if (index >= 0 && put_text(&slots[index], child) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
read_child(PyObject **slots, struct LxmlDocument *document, xmlNode *child, const xmlChar *ns)
{
    if (is_named(child, ns, "InstallationReference")) {
        if (put_text(&slots[REFERENCE], child) < 0 || put_line(&slots[REFERENCE_LINE], child) < 0) {
            return -1;
        }
    } else if (is_named(child, ns, "Status")) {
        return put_text(&slots[STATUS], child);
    } else if (is_named(child, ns, "MeterPoints")) {
        return read_meter_points(slots, child, ns);
    } else if (is_named(child, ns, "CommunicationsHub")) {
        return read_hub(slots, document, child, ns);
    } else if (is_named(child, ns, "Devices")) {
        return read_devices(slots, document, child, ns);
    } else if (is_named(child, ns, "Prepayment")) {
        if (put(&slots[PREPAYMENT], Py_NewRef(Py_True)) < 0) {
            return -1;
        }
        for (xmlNode *setting = child->children; setting != NULL; setting = setting->next) {
            if (is_named(setting, ns, "UTRNCutoverHours") && put_text(&slots[UTRN_CUTOVER_HOURS], setting) < 0) {
                return -1;
            }
        }
    } else if (is_named(child, ns, "DormantNotice")) {
        return read_notice(slots, child, ns);
    }
    return 0;
}

static PyObject *
read_installation(PyObject *module, PyObject *element)
{
    if (!PyObject_TypeCheck(element, element_type)) {
        PyErr_SetString(PyExc_TypeError, "read_installation() takes an lxml element");
        return NULL;
    }
    struct LxmlElement *installation = (struct LxmlElement *)element;
    xmlNode *node = installation->_c_node;
    if (node == NULL) {
        PyErr_SetString(PyExc_ValueError, "the element has no node");
        return NULL;
    }
    const xmlChar *ns = node->ns != NULL ? node->ns->href : NULL;
    PyObject *slots[INSTALLATION_SLOTS] = {NULL};
    for (xmlNode *child = node->children; child != NULL; child = child->next) {
        if (child->type == XML_ELEMENT_NODE && read_child(slots, installation->_doc, child, ns) < 0) {
            release(slots, INSTALLATION_SLOTS);
            return NULL;
        }
    }
    if (slots[DEVICES] == NULL && put(&slots[DEVICES], PyList_New(0)) < 0) {
        release(slots, INSTALLATION_SLOTS);
        return NULL;
    }
    PyObject **flags[] = {&slots[PREPAYMENT], &slots[DORMANT_NOTICE]};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (*flags[i] == NULL) {
            *flags[i] = Py_NewRef(Py_False);
        }
    }
    return as_tuple(slots, INSTALLATION_SLOTS);
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
    if (library != NULL) {
        get_line_number = (line_function)dlsym(library, "xmlGetLineNo");
    }
    if (get_line_number == NULL) {
        PyErr_SetString(PyExc_ImportError, "libxml2's xmlGetLineNo is not reachable through lxml");
        return -1;
    }
    return 0;
}

static PyMethodDef methods[] = {
    {"read_installation", read_installation, METH_O,
     "read_installation(element) -> tuple: an installation's fields (see _fastread.pyi)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "mcfcheck._fastread",
    "An installation's fields, read from libxml2's tree in C.", -1, methods,
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
    PyObject *module = PyModule_Create(&module_definition);
    if (module != NULL && PyModule_AddStringConstant(module, "LXML_VERSION", LXML_VERSION_STRING) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
