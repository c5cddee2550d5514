"""WSDL importer: WSDL 1.1 (SOAP 1.1/1.2 bindings) and WSDL 2.0, read with lxml directly (no zeep).

XML is parsed XXE-safe: no entity expansion, no DTD loading, no network, and a resolver that refuses
every external resource; a DOCTYPE is reported as a warning and ignored. `xsd:import` / `xsd:include` /
`wsdl:import` with a relative location are read from the source's own files; an http(s) location only
through `ctx.fetch` (otherwise an ImportIssue, never a network call).

One endpoint per portType (2.0: interface) operation: `SOAP PortType/Operation` (shared/eval `wsdl_ops`),
method "SOAP", path = the operation name. Input/output message parts are resolved against the embedded
XSD (element -> complexType -> sequence/all/choice, extensions, attributes; minOccurs -> required,
maxOccurs > 1 -> `name[]`), soapAction/style/use per binding go to `extra`, the soap:address locations
are the servers, and a sample SOAP envelope is generated as the example."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from .base import DetectByBestFile, ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile, type_documents
from .records import Document, Endpoint, Example, Field, RequestBody, Response
from .schema_fields import first_sentence

WSDL11 = "http://schemas.xmlsoap.org/wsdl/"
WSDL20 = "http://www.w3.org/ns/wsdl"
SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
HTTPB = "http://schemas.xmlsoap.org/wsdl/http/"
WSOAP20 = "http://www.w3.org/ns/wsdl/soap"
XSD = "http://www.w3.org/2001/XMLSchema"
ENV11 = "http://schemas.xmlsoap.org/soap/envelope/"
ENV12 = "http://www.w3.org/2003/05/soap-envelope"

MAX_DEPTH = 4
MAX_FIELDS = 400

_SAMPLE = {
    "string": "string", "normalizedString": "string", "token": "string", "anyURI": "http://example.com",
    "int": "0", "integer": "0", "long": "0", "short": "0", "byte": "0", "decimal": "0.0", "double": "0.0", "float": "0.0",
    "unsignedLong": "0", "unsignedInt": "0", "unsignedShort": "0", "unsignedByte": "0", "nonNegativeInteger": "0",
    "positiveInteger": "1", "boolean": "false", "dateTime": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "00:00:00",
    "base64Binary": "", "hexBinary": "",
}  # fmt: skip


class _RefuseAll(etree.Resolver):
    """Never load an external entity, DTD or schema while parsing."""

    def resolve(self, url: str, pubid: str, context: Any) -> Any:  # noqa: ARG002
        return self.resolve_empty(context)


def _parse_xml(data: bytes, where: str) -> etree._Element:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace").replace("\x00", "")
        data = re.sub(r"^\s*<\?xml[^>]*\?>", "", text).encode("utf-8")
    else:
        data = data.replace(b"\x00", b"")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    parser.resolvers.add(_RefuseAll())
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        line, col = (e.position if e.position else (e.lineno, 0)) or (0, 0)
        raise ImportError_(f"invalid XML at line {line}, column {col}: {e.msg}", where=f"{where}:{line}:{col}") from e
    if root is None:
        raise ImportError_("empty XML document", where=where)
    return root


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _ns(tag: Any) -> str | None:
    return etree.QName(tag).namespace if isinstance(tag, str) else None


def _text_of(el: etree._Element | None) -> str | None:
    """Text content; entity references (never expanded) contribute nothing."""
    if el is None:
        return None
    parts = [el.text or ""]
    for node in el.iterdescendants():
        if not isinstance(node, etree._Entity) and node.text:
            parts.append(node.text)
        if node.tail:
            parts.append(node.tail)
    text = re.sub(r"[ \t]+", " ", "".join(parts)).strip()
    text = "\n".join(line.strip() for line in text.splitlines()).strip()
    return text or None


def _doc(el: etree._Element) -> str | None:
    for child in el:
        if _local(child.tag) == "documentation":
            return _text_of(child)
    return None


def _xsd_doc(el: etree._Element) -> str | None:
    ann = el.find(f"{{{XSD}}}annotation")
    if ann is None:
        return None
    return "\n".join(filter(None, (_text_of(d) for d in ann.findall(f"{{{XSD}}}documentation")))) or None


def _qname(el: etree._Element, value: str | None) -> tuple[str | None, str] | None:
    if not value:
        return None
    value = value.strip()
    if ":" in value:
        prefix, local = value.split(":", 1)
        return el.nsmap.get(prefix), local
    return el.nsmap.get(None), value


@dataclass
class _SchemaItem:
    el: etree._Element
    tns: str | None
    qualified: bool


@dataclass
class _Index:
    elements: dict[tuple[str | None, str], _SchemaItem] = field(default_factory=dict)
    types: dict[tuple[str | None, str], _SchemaItem] = field(default_factory=dict)
    groups: dict[tuple[str | None, str], _SchemaItem] = field(default_factory=dict)
    attr_groups: dict[tuple[str | None, str], _SchemaItem] = field(default_factory=dict)
    messages: dict[tuple[str | None, str], etree._Element] = field(default_factory=dict)
    port_types: list[tuple[str | None, etree._Element]] = field(default_factory=list)
    bindings: dict[tuple[str | None, str], etree._Element] = field(default_factory=dict)
    services: list[etree._Element] = field(default_factory=list)

    @staticmethod
    def find(table: dict[tuple[str | None, str], Any], key: tuple[str | None, str] | None) -> Any:
        if key is None:
            return None
        if key in table:
            return table[key]
        matches = [v for (ns, name), v in table.items() if name == key[1]]  # lenient: prefix bound to the wrong namespace
        return matches[0] if len(matches) == 1 else None


class WsdlImporter(DetectByBestFile):
    format = "wsdl"

    def score(self, f: SourceFile) -> float:
        head = f.data[:8192].replace(b"\x00", b"").decode("utf-8", errors="replace")
        has_ns = WSDL11 in head or WSDL20 in head
        root = re.search(r"<(?:[\w.-]+:)?(definitions|description)[\s>]", head)
        if f.path.lower().endswith(".wsdl"):
            return 0.95 if (has_ns or root) else 0.7
        if has_ns and root:
            return 0.9
        return 0.0

    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        by_path = {posixpath.normpath(f.path): f for f in files}
        mains: list[tuple[str, etree._Element]] = []
        errors: list[ImportError_] = []
        candidates = [f for f in files if f.path.lower().endswith(".wsdl")] or [f for f in files if self.detect([f]) > 0] or files
        for f in candidates:
            try:
                root = _parse_xml(f.data, f.path)
            except ImportError_ as e:
                errors.append(e)
                continue
            if _ns(root.tag) not in (WSDL11, WSDL20) or _local(root.tag) not in ("definitions", "description"):
                errors.append(
                    ImportError_(
                        f"not a WSDL document: the root element is <{_local(root.tag)}> in {_ns(root.tag) or 'no namespace'}",
                        where=f.path,
                    )
                )
                continue
            mains.append((posixpath.normpath(f.path), root))
        if not mains:
            if len(errors) == 1:
                raise errors[0]
            raise ImportError_(
                "; ".join(f"{e.where}: {e.reason}" for e in errors) or "no WSDL document found",
                where=errors[0].where if errors else "",
            )
        for e in errors:
            result.issues.append(ImportIssue(where=e.where, reason=e.reason))
        for path, root in mains:
            _WsdlReader(path, root, by_path, ctx, result).run()
        return result


@dataclass(eq=False)
class _WsdlReader:
    path: str
    root: etree._Element
    files: dict[str, SourceFile]
    ctx: ImportContext
    result: ImportResult
    idx: _Index = field(default_factory=_Index, init=False)
    version: str = field(init=False)  # "1.1" | "2.0"
    W: str = field(init=False)  # the WSDL namespace of that version
    tns: str | None = field(init=False)
    loaded: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.version = "2.0" if _ns(self.root.tag) == WSDL20 else "1.1"
        self.W = WSDL20 if self.version == "2.0" else WSDL11
        self.tns = self.root.get("targetNamespace")

    def issue(self, where: str, reason: str, severity: str = "error") -> None:
        self.result.issues.append(ImportIssue(where=where, reason=reason, severity=severity))

    # ------------------------------------------------------------------ loading
    def _check_dtd(self, root: etree._Element, where: str) -> None:
        dtd = root.getroottree().docinfo
        if dtd.internalDTD is not None or dtd.doctype:
            self.issue(where, "DOCTYPE ignored: entities are not expanded and no DTD is loaded", "warning")

    def _load_location(self, location: str, base: str, where: str) -> tuple[etree._Element | None, str]:
        """Read an imported document: a relative file of the source, or a URL through ctx.fetch only."""
        if location.startswith(("http://", "https://")) or base.startswith(("http://", "https://")):
            url = location if "://" in location else urljoin(base, location)
            if url in self.loaded:
                return None, url
            self.loaded.add(url)
            if self.ctx.fetch is None:
                self.issue(f"{where} ({url})", "remote import refused: no fetch policy for this import")
                return None, url
            try:
                data = self.ctx.fetch(url)
                return _parse_xml(data, url), url
            except ImportError_ as e:
                self.issue(f"{where} ({url})", e.reason)
            except Exception as e:  # noqa: BLE001 - whatever the fetch policy raises
                self.issue(f"{where} ({url})", f"remote import not fetched: {e}")
            return None, url
        if "://" in location or location.startswith("file:"):
            self.issue(f"{where} ({location})", "import with an unsupported scheme refused")
            return None, location
        key = posixpath.normpath(posixpath.join(posixpath.dirname(base), location))
        if key in self.loaded:
            return None, key
        self.loaded.add(key)
        f = self.files.get(key) or next(
            (v for k, v in self.files.items() if posixpath.basename(k) == posixpath.basename(key)), None
        )
        if f is None:
            self.issue(f"{where} ({location})", "imported file is not part of this source", "warning")
            return None, key
        try:
            return _parse_xml(f.data, f.path), key
        except ImportError_ as e:
            self.issue(e.where, e.reason)
            return None, key

    def _index_wsdl(self, root: etree._Element, path: str) -> None:
        self._check_dtd(root, path)
        W = self.W
        tns = root.get("targetNamespace")
        for imp in root.findall(f"{{{W}}}import") + root.findall(f"{{{W}}}include"):
            loc = imp.get("location")
            if loc:
                sub, key = self._load_location(loc, path, f"{path}: wsdl:import")
                if sub is not None:
                    if _local(sub.tag) in ("definitions", "description"):
                        self._index_wsdl(sub, key)
                    elif _local(sub.tag) == "schema":
                        self._index_schema(sub, key)
        for types in root.findall(f"{{{W}}}types"):
            for schema in types.findall(f"{{{XSD}}}schema"):
                self._index_schema(schema, path)
        for msg in root.findall(f"{{{WSDL11}}}message"):
            if msg.get("name"):
                self.idx.messages[(tns, msg.get("name"))] = msg
        for pt in root.findall(f"{{{W}}}{'interface' if W == WSDL20 else 'portType'}"):
            self.idx.port_types.append((tns, pt))
        for b in root.findall(f"{{{W}}}binding"):
            if b.get("name"):
                self.idx.bindings[(tns, b.get("name"))] = b
        self.idx.services.extend(root.findall(f"{{{W}}}service"))

    def _index_schema(self, schema: etree._Element, path: str) -> None:
        tns = schema.get("targetNamespace")
        qualified = schema.get("elementFormDefault") == "qualified"
        for child in schema:
            tag = _local(child.tag) if _ns(child.tag) == XSD else ""
            name = child.get("name")
            item = _SchemaItem(child, tns, qualified)
            if tag == "element" and name:
                self.idx.elements[(tns, name)] = item
            elif tag in ("complexType", "simpleType") and name:
                self.idx.types[(tns, name)] = item
            elif tag == "group" and name:
                self.idx.groups[(tns, name)] = item
            elif tag == "attributeGroup" and name:
                self.idx.attr_groups[(tns, name)] = item
            elif tag in ("import", "include", "redefine") and child.get("schemaLocation"):
                sub, key = self._load_location(child.get("schemaLocation"), path, f"{path}: xsd:{tag}")
                if sub is not None:
                    if _local(sub.tag) == "schema":
                        self._index_schema(sub, key)
                    else:
                        for s in sub.iter(f"{{{XSD}}}schema"):
                            self._index_schema(s, key)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        self._index_wsdl(self.root, self.path)
        name = self.root.get("name")
        if name and not self.result.title:
            self.result.title = name
        ports = self._ports()
        for url in [p["address"] for p in ports if p.get("address")]:
            if url not in self.result.servers:
                self.result.servers.append(url)
        if not self.idx.port_types:
            self.issue(self.path, f"no {'interface' if self.version == '2.0' else 'portType'} operations found", "warning")
        for pt_ns, pt in self.idx.port_types:
            pt_name = pt.get("name")
            if not pt_name:
                self.issue(self.path, "skipped: portType without a name")
                continue
            for op in pt.findall(f"{{{self.W}}}operation"):
                if len(self.result.endpoints) >= self.ctx.max_endpoints:
                    self.issue(self.path, f"endpoint limit {self.ctx.max_endpoints} reached; rest skipped")
                    return
                op_name = op.get("name")
                where = f"{self.path}:{op.sourceline} ({pt_name}/{op_name or '?'})"
                if not op_name:
                    self.issue(where, "skipped: operation without a name")
                    continue
                try:
                    self.result.endpoints.append(self._endpoint(pt_ns, pt, op, ports, where))
                except Exception as e:  # noqa: BLE001 - a malformed operation is skipped, the rest kept
                    self.issue(where, f"skipped: {type(e).__name__}: {e}")
        self.result.documents.extend(self._documents(ports))

    def _ports(self) -> list[dict[str, Any]]:
        out = []
        for svc in self.idx.services:
            for port in svc.findall(f"{{{self.W}}}{'endpoint' if self.version == '2.0' else 'port'}"):
                binding = _Index.find(self.idx.bindings, _qname(port, port.get("binding")))
                address = port.get("address")
                soap = None
                for child in port:
                    if _local(child.tag) == "address" and child.get("location"):
                        address = child.get("location")
                        soap = {SOAP11: "1.1", SOAP12: "1.2", HTTPB: "http"}.get(_ns(child.tag) or "")
                out.append(
                    {
                        "service": svc.get("name"),
                        "port": port.get("name"),
                        "binding": binding.get("name") if binding is not None else port.get("binding"),
                        "address": address,
                        "soap_version": soap,
                        "documentation": _doc(svc),
                        "_binding": binding,
                    }
                )
        return out

    # ------------------------------------------------------------------ operations
    def _bindings_for(self, pt_ns: str | None, pt: etree._Element) -> list[etree._Element]:
        out = []
        attr = "interface" if self.version == "2.0" else "type"
        for b in self.idx.bindings.values():
            q = _qname(b, b.get(attr))
            if q and q[1] == pt.get("name") and (q[0] == pt_ns or q[0] is None or pt_ns is None):
                out.append(b)
        return out

    def _binding_facts(self, b: etree._Element, op_name: str) -> dict[str, Any]:
        facts: dict[str, Any] = {"binding": b.get("name")}
        if self.version == "2.0":
            facts["soap_version"] = b.get(f"{{{WSOAP20}}}version") or ("1.2" if b.get("type") == WSOAP20 else None)
            for bop in b.findall(f"{{{WSDL20}}}operation"):
                q = _qname(bop, bop.get("ref"))
                if q and q[1] == op_name:
                    facts["soap_action"] = bop.get(f"{{{WSOAP20}}}action")
            return facts
        for child in b:
            if _local(child.tag) == "binding":
                facts["soap_version"] = {SOAP11: "1.1", SOAP12: "1.2", HTTPB: "http"}.get(_ns(child.tag) or "")
                facts["style"] = child.get("style") or ("document" if _ns(child.tag) in (SOAP11, SOAP12) else None)
                facts["transport"] = child.get("transport")
                if _ns(child.tag) == HTTPB:
                    facts["http_verb"] = child.get("verb")
        for bop in b.findall(f"{{{WSDL11}}}operation"):
            if bop.get("name") != op_name:
                continue
            for child in bop:
                if _local(child.tag) == "operation":
                    if child.get("soapAction") is not None:
                        facts["soap_action"] = child.get("soapAction")
                    if child.get("style"):
                        facts["style"] = child.get("style")
                    if child.get("location"):
                        facts["http_location"] = child.get("location")
            inp = bop.find(f"{{{WSDL11}}}input")
            if inp is not None:
                for child in inp:
                    if _local(child.tag) == "body":
                        facts["use"] = child.get("use")
                        if child.get("namespace"):
                            facts["rpc_namespace"] = child.get("namespace")
            break
        return facts

    def _message_parts(
        self, el: etree._Element | None, where: str
    ) -> tuple[list[tuple[str, str, Any, etree._Element]], str | None]:
        """[(part name, 'element'|'type', resolved key, context)], message name."""
        if el is None:
            return [], None
        if self.version == "2.0":
            ref = el.get("element")
            if not ref or ref in ("#none", "#any", "#other"):
                return [], None
            return [(_qname(el, ref)[1], "element", _qname(el, ref), el)], None
        q = _qname(el, el.get("message"))
        msg = _Index.find(self.idx.messages, q)
        if msg is None:
            if q:
                self.issue(where, f"message {el.get('message')} is not defined; its fields are unknown", "warning")
            return [], el.get("message")
        parts = []
        for part in msg.findall(f"{{{WSDL11}}}part"):
            pname = part.get("name") or "part"
            if part.get("element"):
                parts.append((pname, "element", _qname(part, part.get("element")), part))
            elif part.get("type"):
                parts.append((pname, "type", _qname(part, part.get("type")), part))
        return parts, msg.get("name")

    def _fields_for_parts(self, parts: list[tuple[str, str, Any, etree._Element]], where: str) -> tuple[list[Field], list[str]]:
        out: list[Field] = []
        labels: list[str] = []
        for pname, kind, q, _ctx in parts:
            prefix = "" if len(parts) == 1 and kind == "element" else pname + "."
            if kind == "element":
                item = _Index.find(self.idx.elements, q)
                labels.append(f"element `{q[1]}`" if q else pname)
                if item is None:
                    if q and q[0] != XSD:
                        self.issue(where, f"element {q[1]} is not defined in the schema; shown by name", "warning")
                    out.append(Field(name=pname, type=q[1] if q else None, required=True))
                    continue
                if not self._is_complex(item.el):  # a simple-typed element is itself the value
                    tname, enum = self._simple_type(item.el)
                    out.append(Field(name=q[1], type=tname, required=True, description=_xsd_doc(item.el), enum=enum))
                    continue
                if prefix:
                    out.append(Field(name=pname, type=q[1], required=True, description=_xsd_doc(item.el)))
                self._element_content(item.el, item, prefix, 0, set(), out)
            else:
                labels.append(f"part `{pname}` ({q[1] if q else '?'})")
                tname = q[1] if q else None
                out.append(Field(name=pname, type=tname, required=True))
                if q and q[0] != XSD:
                    titem = _Index.find(self.idx.types, q)
                    if titem is not None:
                        self._type_content(titem.el, titem, pname + ".", 0, {q[1]}, out)
                    else:
                        self.issue(where, f"type {q[1]} is not defined in the schema; shown by name", "warning")
        return out[:MAX_FIELDS], labels

    # ------------------------------------------------------------------ XSD flattening
    def _is_complex(self, el: etree._Element) -> bool:
        t = el.get("type")
        if t:
            q = _qname(el, t)
            item = _Index.find(self.idx.types, q) if q and q[0] != XSD else None
            return item is not None and _local(item.el.tag) == "complexType"
        return any(_local(c.tag) == "complexType" for c in el)

    def _element_content(
        self, el: etree._Element, owner: _SchemaItem, prefix: str, depth: int, stack: set[str], out: list[Field]
    ) -> None:
        """The children of an element declaration (its complex content), flattened under prefix."""
        t = el.get("type")
        if t:
            q = _qname(el, t)
            if q and q[0] != XSD:
                titem = _Index.find(self.idx.types, q)
                if titem is not None and q[1] not in stack:
                    self._type_content(titem.el, titem, prefix, depth, stack | {q[1]}, out)
            return
        for child in el:
            if _ns(child.tag) == XSD and _local(child.tag) == "complexType":
                self._type_content(child, owner, prefix, depth, stack, out)

    def _type_content(
        self, ct: etree._Element, owner: _SchemaItem, prefix: str, depth: int, stack: set[str], out: list[Field]
    ) -> None:
        if _local(ct.tag) != "complexType" or depth > MAX_DEPTH or len(out) > MAX_FIELDS:
            return
        for child in ct:
            if _ns(child.tag) != XSD:
                continue
            tag = _local(child.tag)
            if tag in ("sequence", "all", "choice", "group"):
                self._particles(child, owner, prefix, depth, stack, out, optional=False)
            elif tag in ("attribute", "attributeGroup"):
                self._attributes([child], prefix, out)
            elif tag in ("complexContent", "simpleContent"):
                for der in child:
                    if _local(der.tag) not in ("extension", "restriction"):
                        continue
                    base = _qname(der, der.get("base"))
                    if _local(der.tag) == "extension" and base and base[0] != XSD and base[1] not in stack:
                        bitem = _Index.find(self.idx.types, base)
                        if bitem is not None:
                            self._type_content(bitem.el, bitem, prefix, depth, stack | {base[1]}, out)
                    if base and base[1] == "Array":  # SOAP-encoded array
                        arr = next(
                            (a for a in der.iter(f"{{{XSD}}}attribute") if any(k.endswith("arrayType") for k in a.attrib)), None
                        )
                        if arr is not None:
                            at = next(v for k, v in arr.attrib.items() if k.endswith("arrayType"))
                            out.append(
                                Field(
                                    name=prefix + "item[]",
                                    type=at.split(":")[-1].rstrip("[]"),
                                    required=False,
                                    description="SOAP-encoded array item",
                                )
                            )
                    for sub in der:
                        stag = _local(sub.tag)
                        if stag in ("sequence", "all", "choice", "group"):
                            self._particles(sub, owner, prefix, depth, stack, out, optional=False)
                        elif stag in ("attribute", "attributeGroup"):
                            self._attributes([sub], prefix, out)

    def _attributes(self, els: list[etree._Element], prefix: str, out: list[Field]) -> None:
        for a in els:
            if _local(a.tag) == "attributeGroup":
                g = _Index.find(self.idx.attr_groups, _qname(a, a.get("ref")))
                if g is not None:
                    self._attributes([x for x in g.el if _local(x.tag) in ("attribute", "attributeGroup")], prefix, out)
                continue
            name = a.get("name") or (a.get("ref") or "").split(":")[-1]
            if not name:
                continue
            tname, enum = self._simple_type(a)
            out.append(
                Field(
                    name=f"{prefix}@{name}",
                    type=tname,
                    required=a.get("use") == "required",
                    description=_xsd_doc(a),
                    enum=enum,
                    default=a.get("default"),
                )
            )

    def _simple_type(self, el: etree._Element) -> tuple[str | None, list[str] | None]:
        """(type label, enumeration) of an element/attribute with a simple type."""
        t = el.get("type")
        st = None
        if t:
            q = _qname(el, t)
            if q is None:
                return None, None
            if q[0] == XSD:
                return q[1], None
            item = _Index.find(self.idx.types, q)
            if item is None or _local(item.el.tag) != "simpleType":
                return q[1], None
            st, label = item.el, q[1]
        else:
            st = next((c for c in el if _local(c.tag) == "simpleType"), None)
            label = None
            if st is None:
                ct = next((c for c in el if _local(c.tag) == "complexType"), None)
                return ("complex" if ct is not None else "anyType"), None
        restr = st.find(f"{{{XSD}}}restriction")
        if restr is not None:
            base = (restr.get("base") or "").split(":")[-1] or None
            enum = [e.get("value") for e in restr.findall(f"{{{XSD}}}enumeration")] or None
            return label or base, enum
        if st.find(f"{{{XSD}}}list") is not None:
            return label or "list", None
        return label or "string", None

    def _particles(
        self,
        group: etree._Element,
        owner: _SchemaItem,
        prefix: str,
        depth: int,
        stack: set[str],
        out: list[Field],
        optional: bool,
    ) -> None:
        tag = _local(group.tag)
        if tag == "group" and group.get("ref"):
            g = _Index.find(self.idx.groups, _qname(group, group.get("ref")))
            if g is not None:
                for c in g.el:
                    if _local(c.tag) in ("sequence", "all", "choice"):
                        self._particles(c, g, prefix, depth, stack, out, optional or group.get("minOccurs") == "0")
            return
        optional = optional or tag == "choice" or group.get("minOccurs") == "0"
        for child in group:
            if _ns(child.tag) != XSD or len(out) > MAX_FIELDS:
                continue
            ctag = _local(child.tag)
            if ctag in ("sequence", "all", "choice", "group"):
                self._particles(child, owner, prefix, depth, stack, out, optional)
            elif ctag == "any":
                out.append(Field(name=prefix + "*", type="any", required=False, description="any element (xs:any)"))
            elif ctag == "element":
                decl, decl_owner = child, owner
                if child.get("ref"):
                    ref = _Index.find(self.idx.elements, _qname(child, child.get("ref")))
                    if ref is None:
                        out.append(Field(name=prefix + child.get("ref").split(":")[-1], type=None, required=False))
                        continue
                    decl, decl_owner = ref.el, ref
                name = decl.get("name") or "?"
                max_occurs = child.get("maxOccurs") or "1"
                many = max_occurs == "unbounded" or (max_occurs.isdigit() and int(max_occurs) > 1)
                fname = prefix + name + ("[]" if many else "")
                tname, enum = self._simple_type(decl)
                doc = _xsd_doc(child) or (_xsd_doc(decl) if decl is not child else None)
                notes = []
                if tag == "choice":
                    notes.append("choice: one of the alternatives")
                if child.get("nillable") == "true" or decl.get("nillable") == "true":
                    notes.append("nillable")
                if notes:
                    doc = (doc + " " if doc else "") + "(" + ", ".join(notes) + ")"
                out.append(
                    Field(
                        name=fname,
                        type=tname,
                        required=not optional and (child.get("minOccurs") or "1") != "0",
                        description=doc,
                        enum=enum,
                        default=decl.get("default"),
                    )
                )
                if depth + 1 <= MAX_DEPTH:
                    self._element_content(decl, decl_owner, fname + ".", depth + 1, stack, out)

    # ------------------------------------------------------------------ endpoint
    def _endpoint(
        self, pt_ns: str | None, pt: etree._Element, op: etree._Element, ports: list[dict[str, Any]], where: str
    ) -> Endpoint:
        W = self.W
        pt_name = pt.get("name")
        op_name = op.get("name")
        doc = _doc(op)
        inp = op.find(f"{{{W}}}input")
        outp = op.find(f"{{{W}}}output")
        in_parts, in_msg = self._message_parts(inp, where)
        out_parts, out_msg = self._message_parts(outp, where)
        req_fields, req_labels = self._fields_for_parts(in_parts, where)
        resp_fields, resp_labels = self._fields_for_parts(out_parts, where)
        bindings = self._bindings_for(pt_ns, pt)
        facts = [self._binding_facts(b, op_name) for b in bindings]
        versions = sorted({f["soap_version"] for f in facts if f.get("soap_version") in ("1.1", "1.2")})
        content_types = (["text/xml"] if "1.1" in versions else []) + (["application/soap+xml"] if "1.2" in versions else [])
        binding_names = {b.get("name") for b in bindings}
        servers = []
        for p in ports:
            if p["binding"] in binding_names and p.get("address") and p["address"] not in servers:
                servers.append(p["address"])
        soap_action = next((f["soap_action"] for f in facts if f.get("soap_action")), None)
        if soap_action is None and any("soap_action" in f for f in facts):
            soap_action = ""
        style = next((f["style"] for f in facts if f.get("style")), None)
        use = next((f["use"] for f in facts if f.get("use")), None)
        extra: dict[str, Any] = {
            "wsdl_version": self.version,
            "port_type": pt_name,
            "target_namespace": self.tns,
            "soap_action": soap_action,
            "soap_actions": {f["binding"]: f.get("soap_action") for f in facts if f.get("binding")},
            "soap_versions": versions,
            "style": style,
            "use": use,
            "bindings": [f["binding"] for f in facts],
        }
        if in_msg:
            extra["input_message"] = in_msg
        if out_msg:
            extra["output_message"] = out_msg
        in_el = next((q for _, k, q, _ in in_parts if k == "element" and q), None)
        out_el = next((q for _, k, q, _ in out_parts if k == "element" and q), None)
        if in_el:
            extra["input_element"] = in_el[1]
        if out_el:
            extra["output_element"] = out_el[1]
        http_facts = [f for f in facts if f.get("soap_version") == "http"]
        if http_facts:
            extra["http"] = [{"verb": f.get("http_verb"), "location": f.get("http_location")} for f in http_facts]
        responses: list[Response] = []
        if outp is not None:
            rdesc = (f"Output message `{out_msg}`" if out_msg else "Output") + (
                f" ({', '.join(resp_labels)})" if resp_labels else ""
            )
            responses.append(Response(code="reply", description=rdesc, content_types=list(content_types), fields=resp_fields))
        faults = []
        for fault in op.findall(f"{{{W}}}fault") + op.findall(f"{{{W}}}outfault"):
            fparts, fmsg = self._message_parts(fault, where) if self.version == "1.1" else ([], None)
            ffields, _ = self._fields_for_parts(fparts, where)
            fname = fault.get("name") or (fault.get("ref") or "").split(":")[-1]
            faults.append(fname)
            responses.append(
                Response(
                    code="fault",
                    description=f"SOAP fault `{fname}`" + (f" (message `{fmsg}`)" if fmsg else ""),
                    content_types=list(content_types),
                    fields=ffields,
                )
            )
        if faults:
            extra["faults"] = faults
        request_body = None
        if inp is not None:
            request_body = RequestBody(
                content_types=list(content_types),
                required=True,
                description=(f"Input message `{in_msg}`" if in_msg else "Input")
                + (f" ({', '.join(req_labels)})" if req_labels else ""),
                fields=req_fields,
            )
        desc_parts = [doc] if doc else []
        mep = (
            "one-way (no response)"
            if outp is None and inp is not None
            else "notification (server to client)"
            if inp is None
            else None
        )
        if mep:
            desc_parts.append(f"Message exchange: {mep}.")
            extra["pattern"] = mep
        examples = []
        if inp is not None:
            for version in versions or ["1.1"]:
                examples.append(self._sample(op_name, in_parts, req_fields, soap_action, style, version, servers, facts))
        return Endpoint(
            operation_key=f"SOAP {pt_name}/{op_name}",
            method="SOAP",
            path=op_name,
            operation_id=op_name,
            summary=first_sentence(doc),
            description="\n\n".join(desc_parts) or None,
            tags=[pt_name],
            request_body=request_body,
            responses=responses,
            servers=servers,
            examples=examples,
            source_path=self.path,
            extra=extra,
        )

    def _sample(
        self,
        op_name: str,
        parts: list[tuple[str, str, Any, etree._Element]],
        fields: list[Field],
        soap_action: str | None,
        style: str | None,
        version: str,
        servers: list[str],
        facts: list[dict[str, Any]],
    ) -> Example:
        env_ns = ENV12 if version == "1.2" else ENV11
        body_ns = next((f.get("rpc_namespace") for f in facts if f.get("rpc_namespace")), None)
        tree: dict[str, Any] = {}
        for f in fields:
            if f.name.endswith("*"):
                continue
            segs = [seg.removesuffix("[]") for seg in f.name.split(".")]
            node = tree
            for seg in segs[:-1]:
                nxt = node.get(seg)
                if not isinstance(nxt, dict):  # a parent first shown as a leaf gets children
                    nxt = {}
                    node[seg] = nxt
                node = nxt
            if segs[-1] not in node:
                node[segs[-1]] = f.enum[0] if f.enum else _SAMPLE.get(f.type or "", "?")

        def render(d: dict[str, Any], indent: str, qualify: str) -> list[str]:
            lines = []
            for k, v in d.items():
                if k.startswith("@"):
                    continue
                attrs = "".join(
                    f' {a[1:]}="{av if not isinstance(av, dict) else ""}"'
                    for a, av in (v.items() if isinstance(v, dict) else [])
                    if a.startswith("@")
                )
                tag = f"{qualify}{k}"
                if isinstance(v, dict):
                    inner = render(v, indent + "  ", qualify)
                    lines += [f"{indent}<{tag}{attrs}>", *inner, f"{indent}</{tag}>"] if inner else [f"{indent}<{tag}{attrs}/>"]
                else:
                    lines.append(f"{indent}<{tag}>{_xml_escape(str(v))}</{tag}>")
            return lines

        element_parts = [p for p in parts if p[1] == "element" and p[2]]
        if element_parts and style != "rpc":
            q = element_parts[0][2]
            item = _Index.find(self.idx.elements, q)
            ns = (item.tns if item else q[0]) or ""
            qualified = bool(item and item.qualified)
            content = tree if len(parts) == 1 else tree.get(element_parts[0][0], {})
            content = content if isinstance(content, dict) else {}
            inner = render(content, "      ", "tns:" if qualified else "")
            wrapper = f"tns:{q[1]}" + "".join(
                f' {k[1:]}="{_xml_escape(str(v))}"' for k, v in content.items() if k.startswith("@")
            )
        else:
            ns = body_ns or self.tns or ""
            inner = render(tree, "      ", "")
            wrapper = f"tns:{op_name}"
        if inner:
            lines = [f'    <{wrapper} xmlns:tns="{ns}">', *inner, f"    </{wrapper.split(' ', 1)[0]}>"]
        else:
            lines = [f'    <{wrapper} xmlns:tns="{ns}"/>']
        envelope = "\n".join(
            [
                '<?xml version="1.0" encoding="utf-8"?>',
                f'<soap:Envelope xmlns:soap="{env_ns}">',
                "  <soap:Body>",
                *lines,
                "  </soap:Body>",
                "</soap:Envelope>",
            ]
        )
        url = servers[0] if servers else None
        head = []
        if url:
            u = urlsplit(url)
            head.append(f"POST {u.path or '/'} HTTP/1.1")
            head.append(f"Host: {u.netloc}")
        if version == "1.2":
            ct = "application/soap+xml; charset=utf-8" + (f'; action="{soap_action}"' if soap_action else "")
            head.append(f"Content-Type: {ct}")
        else:
            head.append("Content-Type: text/xml; charset=utf-8")
            head.append(f'SOAPAction: "{soap_action or ""}"')
        return Example(title=f"SOAP {version} request", content="\n".join(head) + "\n\n" + envelope, language="xml")

    # ------------------------------------------------------------------ documents
    def _documents(self, ports: list[dict[str, Any]]) -> list[Document]:
        docs = []
        name = self.root.get("name") or posixpath.basename(self.path)
        lines = [f"# {name} (WSDL {self.version})", ""]
        if self.tns:
            lines += [f"Target namespace: `{self.tns}`", ""]
        for svc in self.idx.services:
            lines += [f"## Service {svc.get('name')}", ""]
            d = _doc(svc)
            if d:
                lines += [d, ""]
            for p in ports:
                if p["service"] == svc.get("name"):
                    ver = {"1.1": "SOAP 1.1", "1.2": "SOAP 1.2", "http": "HTTP"}.get(p.get("soap_version") or "", "")
                    lines.append(f"- port `{p['port']}` ({ver}, binding `{p['binding']}`): {p.get('address') or '(no address)'}")
            lines.append("")
        for _, pt in self.idx.port_types:
            lines += [f"## {'Interface' if self.version == '2.0' else 'PortType'} {pt.get('name')}", ""]
            for op in pt.findall(f"{{{self.W}}}operation"):
                s = first_sentence(_doc(op))
                lines.append(f"- `{op.get('name')}`" + (f" — {s}" if s else ""))
            lines.append("")
        docs.append(Document(title=f"{name}: service overview", path=f"{self.path}#overview", markdown="\n".join(lines)))
        named = sorted(((k, v) for k, v in self.idx.types.items() if _local(v.el.tag) == "complexType"), key=lambda kv: kv[0][1])
        docs += type_documents(named, f"{name}: XML schema types", lambda kv: kv[0][1], self._type_markdown, f"{self.path}#types")
        return docs

    def _type_markdown(self, named: tuple[tuple[str | None, str], _SchemaItem]) -> list[str]:
        """A named complex type's section of the types Documents: its description and first-level fields."""
        (_, tname), item = named
        fields: list[Field] = []
        self._type_content(item.el, item, "", MAX_DEPTH, {tname}, fields)  # one level only
        md = [f"## {tname}", ""]
        d = _xsd_doc(item.el)
        if d:
            md += [d, ""]
        for f in fields:
            req = "required" if f.required else "optional"
            md.append(
                f"- `{f.name}` ({f.type or '?'}, {req})"
                + (f" — one of {', '.join(f.enum)}" if f.enum else "")
                + (f" — {f.description}" if f.description else "")
            )
        md.append("")
        return md


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


IMPORTER = WsdlImporter()
