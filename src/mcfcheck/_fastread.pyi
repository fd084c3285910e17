"""An installation's fields, read from libxml2's tree in C (see _fastread.c)."""

from lxml import etree

from mcfcheck.rules.views import InstallationFields

#: The lxml version the module was compiled against (it loads under that version only).
LXML_VERSION: str

def read_installation(element: etree._Element, /) -> InstallationFields:
    """The installation's fields, as :func:`mcfcheck.rules.views.read_installation_fields` reads them."""
