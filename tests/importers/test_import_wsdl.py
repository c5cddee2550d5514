"""WSDL importer: WSDL 1.1/2.0, XSD flattening, XXE safety, remote imports refused, corpora."""

from __future__ import annotations

import socket

import pytest
from corpus_helpers import CORPORA, eval_validator

from woes.importers.base import ImportContext, ImportError_, SourceFile
from woes.importers.wsdl import WsdlImporter

IMP = WsdlImporter()

SCHEMA = """
   <xs:element name="GetItem">
     <xs:complexType>
       <xs:sequence>
         <xs:element name="id" type="xs:long"><xs:annotation><xs:documentation>The item id.</xs:documentation></xs:annotation></xs:element>
         <xs:element name="mode" minOccurs="0">
           <xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="FULL"/><xs:enumeration value="SHORT"/></xs:restriction></xs:simpleType>
         </xs:element>
       </xs:sequence>
       <xs:attribute name="lang" type="xs:string" use="required"/>
     </xs:complexType>
   </xs:element>
   <xs:element name="GetItemResponse">
     <xs:complexType><xs:sequence><xs:element name="item" type="tns:Item" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
   </xs:element>
   <xs:element name="ItemFault"><xs:complexType><xs:sequence><xs:element name="code" type="xs:int"/></xs:sequence></xs:complexType></xs:element>
   <xs:complexType name="Base"><xs:sequence><xs:element name="created" type="xs:dateTime"/></xs:sequence></xs:complexType>
   <xs:complexType name="Item">
     <xs:complexContent><xs:extension base="tns:Base"><xs:sequence>
       <xs:element name="name" type="xs:string"/>
       <xs:choice><xs:element name="price" type="xs:decimal"/><xs:element name="free" type="xs:boolean"/></xs:choice>
       <xs:element name="child" type="tns:Item" minOccurs="0"/>
     </xs:sequence></xs:extension></xs:complexContent>
   </xs:complexType>
"""


def wsdl(schema_extra: str = "", port_type_extra: str = "", doctype: str = "", documentation: str = "Gets one item.") -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
{doctype}<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:tns="urn:shop" targetNamespace="urn:shop" name="Shop">
 <types><xs:schema targetNamespace="urn:shop" elementFormDefault="qualified">{schema_extra}{SCHEMA}</xs:schema></types>
 <message name="GetItemIn"><part name="parameters" element="tns:GetItem"/></message>
 <message name="GetItemOut"><part name="parameters" element="tns:GetItemResponse"/></message>
 <message name="ItemFaultMsg"><part name="detail" element="tns:ItemFault"/></message>
 <message name="PingIn"><part name="text" type="xs:string"/><part name="count" type="xs:int"/></message>
 <portType name="ShopPort">
  <operation name="GetItem">
   <documentation>{documentation}</documentation>
   <input message="tns:GetItemIn"/><output message="tns:GetItemOut"/><fault name="NotFound" message="tns:ItemFaultMsg"/>
  </operation>
  <operation name="Ping"><input message="tns:PingIn"/></operation>{port_type_extra}
 </portType>
 <binding name="ShopSoap" type="tns:ShopPort">
  <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
  <operation name="GetItem"><soap:operation soapAction="urn:shop#GetItem"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
  <operation name="Ping"><soap:operation soapAction="urn:shop#Ping" style="rpc"/><input><soap:body use="literal" namespace="urn:shop:rpc"/></input></operation>
 </binding>
 <binding name="ShopSoap12" type="tns:ShopPort">
  <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
  <operation name="GetItem"><soap12:operation soapAction="urn:shop#GetItem"/></operation>
 </binding>
 <service name="ShopService">
  <documentation>The shop.</documentation>
  <port name="ShopSoap" binding="tns:ShopSoap"><soap:address location="https://shop.example.com/soap"/></port>
  <port name="ShopSoap12" binding="tns:ShopSoap12"><soap12:address location="https://shop.example.com/soap12"/></port>
 </service>
</definitions>
""".encode()


def _parse(files, ctx=None):
    return IMP.parse(files, ctx or ImportContext())


def _by_key(r):
    return {e.operation_key: e for e in r.endpoints}


@pytest.fixture
def no_network(monkeypatch):
    attempts = []

    def guard(self, address):  # noqa: ARG001
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", guard)
    monkeypatch.setattr(socket.socket, "connect_ex", guard)
    return attempts


def test_detect():
    assert IMP.detect([SourceFile("shop.wsdl", wsdl())]) >= 0.9
    assert IMP.detect([SourceFile("shop.xml", wsdl())]) >= 0.9
    assert IMP.detect([SourceFile("page.xml", b"<html><body/></html>")]) == 0
    assert IMP.detect([SourceFile("api.json", b"{}")]) == 0


def test_happy_path():
    r = _parse([SourceFile("shop.wsdl", wsdl())])
    eps = _by_key(r)
    assert list(eps) == ["SOAP ShopPort/GetItem", "SOAP ShopPort/Ping"]
    assert not r.issues
    assert r.title == "Shop" and r.servers == ["https://shop.example.com/soap", "https://shop.example.com/soap12"]

    get = eps["SOAP ShopPort/GetItem"]
    assert (get.method, get.path, get.operation_id, get.summary) == ("SOAP", "GetItem", "GetItem", "Gets one item.")
    assert get.request_body.content_types == ["text/xml", "application/soap+xml"]
    req = {f.name: f for f in get.request_body.fields}
    assert req["id"].type == "long" and req["id"].required and req["id"].description == "The item id."
    assert req["mode"].enum == ["FULL", "SHORT"] and not req["mode"].required
    assert req["@lang"].required
    reply, fault = get.responses
    assert reply.code == "reply" and fault.code == "fault" and "NotFound" in fault.description
    out = {f.name: f for f in reply.fields}
    assert out["item[]"].type == "Item"
    assert {"item[].created", "item[].name", "item[].price", "item[].free", "item[].child"} <= set(out)  # base type first
    assert list(out).index("item[].created") < list(out).index("item[].name")
    assert not out["item[].price"].required and "choice" in out["item[].price"].description
    assert "item[].child.name" not in out  # recursive type stops
    assert [f.name for f in fault.fields] == ["code"]
    assert get.extra["soap_action"] == "urn:shop#GetItem" and get.extra["soap_versions"] == ["1.1", "1.2"]
    assert get.extra["style"] == "document" and get.extra["use"] == "literal" and get.extra["faults"] == ["NotFound"]
    assert get.servers == ["https://shop.example.com/soap", "https://shop.example.com/soap12"]
    ex = get.examples[0].content
    assert 'SOAPAction: "urn:shop#GetItem"' in ex and "Host: shop.example.com" in ex
    assert (
        '<tns:GetItem lang="string" xmlns:tns="urn:shop">' in ex
        and "<tns:id>0</tns:id>" in ex
        and "<tns:mode>FULL</tns:mode>" in ex
    )
    assert (
        "application/soap+xml" in get.examples[1].content and "http://www.w3.org/2003/05/soap-envelope" in get.examples[1].content
    )

    ping = eps["SOAP ShopPort/Ping"]
    assert [(f.name, f.type) for f in ping.request_body.fields] == [("text", "string"), ("count", "int")]
    assert ping.responses == [] and ping.extra["pattern"] == "one-way (no response)"
    assert ping.extra["style"] == "rpc" and '<tns:Ping xmlns:tns="urn:shop:rpc">' in ping.examples[0].content

    md = "\n".join(d.markdown for d in r.documents)
    assert "## Service ShopService" in md and "The shop." in md and "## Item" in md


def test_malformed_operation_skipped_rest_kept():
    extra = (
        '<operation><input message="tns:GetItemIn"/></operation><operation name="Ghost"><input message="tns:Nope"/></operation>'
    )
    r = _parse([SourceFile("shop.wsdl", wsdl(port_type_extra=extra))])
    assert list(_by_key(r)) == ["SOAP ShopPort/GetItem", "SOAP ShopPort/Ping", "SOAP ShopPort/Ghost"]
    errors = [i for i in r.issues if i.severity == "error"]
    assert len(errors) == 1 and "without a name" in errors[0].reason and errors[0].where.startswith("shop.wsdl:")
    assert any("tns:Nope" in i.reason and i.severity == "warning" for i in r.issues)
    assert _by_key(r)["SOAP ShopPort/Ghost"].request_body.fields == []


@pytest.mark.parametrize(
    "data,match,where",
    [
        (b"<definitions", "invalid XML at line 1", "x.wsdl:1:"),
        (b"not xml at all", "invalid XML", "x.wsdl:1:"),
        (b"<html><body>hi</body></html>", "not a WSDL document", "x.wsdl"),
        (b"", "invalid XML", "x.wsdl"),
    ],
)
def test_invalid_input_raises(data, match, where):
    with pytest.raises(ImportError_, match=match) as e:
        _parse([SourceFile("x.wsdl", data)])
    assert e.value.where.startswith(where)


def test_xxe_entities_not_expanded(tmp_path, no_network):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    doctype = (
        f'<!DOCTYPE definitions [<!ENTITY x SYSTEM "file:///etc/passwd"><!ENTITY s SYSTEM "file://{secret}">'
        '<!ENTITY r SYSTEM "http://127.0.0.1:9/remote"><!ENTITY % p SYSTEM "http://127.0.0.1:9/dtd"> %p;]>\n'
    )
    r = _parse([SourceFile("evil.wsdl", wsdl(doctype=doctype, documentation="Gets &x; &s; &r; one item."))])
    dump = repr(r)
    assert "root:" not in dump and "TOP-SECRET-VALUE" not in dump
    assert _by_key(r)["SOAP ShopPort/GetItem"].description == "Gets one item."
    assert any("DOCTYPE ignored" in i.reason for i in r.issues)
    assert no_network == []


def test_external_dtd_not_loaded(no_network):
    doctype = '<!DOCTYPE definitions SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
    r = _parse([SourceFile("evil.wsdl", wsdl(doctype=doctype))])
    assert len(r.endpoints) == 2 and no_network == []


def test_remote_schema_import_refused_without_fetch(no_network):
    imp = '<xs:import namespace="urn:ext" schemaLocation="http://127.0.0.1:9/ext.xsd"/>'
    r = _parse([SourceFile("shop.wsdl", wsdl(schema_extra=imp))])
    assert len(r.endpoints) == 2
    refused = [i for i in r.issues if "refused" in i.reason]
    assert len(refused) == 1 and "http://127.0.0.1:9/ext.xsd" in refused[0].where
    assert no_network == []

    calls = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:ext"><xs:complexType name="Ext"/></xs:schema>'

    r = _parse([SourceFile("shop.wsdl", wsdl(schema_extra=imp))], ImportContext(fetch=fetch))
    assert calls == ["http://127.0.0.1:9/ext.xsd"] and not r.issues


def test_local_schema_include_from_the_source():
    include = '<xs:include schemaLocation="types/extra.xsd"/>'
    xsd = b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:shop"><xs:element name="Extra" type="xs:string"/></xs:schema>'
    extra_op = '<operation name="Echo"><input message="tns:EchoIn"/></operation>'
    doc = wsdl(schema_extra=include, port_type_extra=extra_op).replace(
        b'<message name="PingIn">',
        b'<message name="EchoIn"><part name="p" element="tns:Extra"/></message><message name="PingIn">',
    )
    r = _parse([SourceFile("svc/shop.wsdl", doc), SourceFile("svc/types/extra.xsd", xsd)])
    assert not r.issues
    assert [(f.name, f.type) for f in _by_key(r)["SOAP ShopPort/Echo"].request_body.fields] == [("Extra", "string")]


def test_wsdl_20():
    doc = b"""<description xmlns="http://www.w3.org/ns/wsdl" xmlns:tns="urn:w2" xmlns:xs="http://www.w3.org/2001/XMLSchema"
      xmlns:wsoap="http://www.w3.org/ns/wsdl/soap" targetNamespace="urn:w2">
  <types><xs:schema targetNamespace="urn:w2">
    <xs:element name="Add"><xs:complexType><xs:sequence><xs:element name="a" type="xs:int"/><xs:element name="b" type="xs:int"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="AddResult" type="xs:int"/>
  </xs:schema></types>
  <interface name="Calc">
    <operation name="Add" pattern="http://www.w3.org/ns/wsdl/in-out">
      <documentation>Adds.</documentation>
      <input element="tns:Add"/><output element="tns:AddResult"/>
    </operation>
  </interface>
  <binding name="CalcSoap" interface="tns:Calc" type="http://www.w3.org/ns/wsdl/soap" wsoap:version="1.2">
    <operation ref="tns:Add" wsoap:action="urn:w2#Add"/>
  </binding>
  <service name="CalcService" interface="tns:Calc">
    <endpoint name="CalcEndpoint" binding="tns:CalcSoap" address="https://calc.example.com/soap"/>
  </service>
</description>"""
    r = _parse([SourceFile("calc.wsdl", doc)])
    ep = _by_key(r)["SOAP Calc/Add"]
    assert ep.summary == "Adds." and [f.name for f in ep.request_body.fields] == ["a", "b"]
    assert ep.extra["wsdl_version"] == "2.0" and ep.extra["soap_action"] == "urn:w2#Add" and ep.extra["soap_versions"] == ["1.2"]
    assert ep.servers == ["https://calc.example.com/soap"]


def test_nul_bytes_stripped():
    r = _parse([SourceFile("shop.wsdl", wsdl().replace(b"<portType", b"\x00<portType"))])
    assert len(r.endpoints) == 2


# ---------------------------------------------------------------------- corpora




@pytest.fixture(scope="module")
def corpus():
    d = CORPORA / "wsdl"
    if not d.exists():
        pytest.skip(f"corpus not available: {d}")
    return {p.name: (p, IMP.parse([SourceFile(p.name, p.read_bytes())], ImportContext())) for p in sorted(d.iterdir())}


@pytest.mark.parametrize("name,count", [("countryInformation.wsdl", 21), ("numberConversion.wsdl", 2)])
def test_corpus_counts(corpus, name, count):
    path, r = corpus[name]
    assert len(r.endpoints) == count and not r.issues
    v = eval_validator()
    if v is not None:
        assert {e.operation_key for e in r.endpoints} == set(v.wsdl_ops(str(path)))


def test_corpus_number_conversion(corpus):
    _, r = corpus["numberConversion.wsdl"]
    ep = _by_key(r)["SOAP NumberConversionSoapType/NumberToWords"]
    assert [(f.name, f.type, f.required) for f in ep.request_body.fields] == [("ubiNum", "unsignedLong", True)]
    assert [f.name for f in ep.responses[0].fields] == ["NumberToWordsResult"]
    assert ep.extra["soap_action"] == "" and ep.servers == ["https://www.dataaccess.com/webservicesserver/NumberConversion.wso"]
    assert ep.summary.startswith("Returns the word corresponding to the positive number")


def test_corpus_country_information(corpus):
    _, r = corpus["countryInformation.wsdl"]
    ep = _by_key(r)["SOAP CountryInfoServiceSoapType/FullCountryInfo"]
    assert [f.name for f in ep.request_body.fields] == ["sCountryISOCode"]
    out = {f.name for f in ep.responses[0].fields}
    assert {"FullCountryInfoResult.sCapitalCity", "FullCountryInfoResult.Languages.tLanguage[].sName"} <= out
    assert r.servers == ["http://webservices.oorsprong.org/websamples.countryinfo/CountryInfoService.wso"]
    assert ep.extra["soap_versions"] == ["1.1", "1.2"]
