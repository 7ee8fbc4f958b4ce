"""Builds camt.053 documents for tests and the benchmark: one statement, entries given as dicts."""
from xml.sax.saxutils import escape


def entry_xml(*, ref, amount, currency="EUR", name="", strd="", ustrd="", indicator="CRDT", booked="2026-12-04",
              ntry_ref="", version=2, status="BOOK"):
    party = f"<Pty><Nm>{escape(name)}</Nm></Pty>" if version >= 8 else f"<Nm>{escape(name)}</Nm>"
    sts = f"<Sts><Cd>{status}</Cd></Sts>" if version >= 8 else f"<Sts>{status}</Sts>"
    strd_xml = f"<Strd><CdtrRefInf><Ref>{escape(strd)}</Ref></CdtrRefInf></Strd>" if strd else ""
    ustrd_xml = f"<Ustrd>{escape(ustrd)}</Ustrd>" if ustrd else ""
    return (
        f"<Ntry>{f'<NtryRef>{ntry_ref}</NtryRef>' if ntry_ref else ''}<Amt Ccy=\"{currency}\">{amount}</Amt>"
        f"<CdtDbtInd>{indicator}</CdtDbtInd>{sts}<BookgDt><Dt>{booked}</Dt></BookgDt>"
        f"{f'<AcctSvcrRef>{ref}</AcctSvcrRef>' if ref else ''}"
        f"<NtryDtls><TxDtls><RltdPties><Dbtr>{party}</Dbtr></RltdPties>"
        f"<RmtInf>{ustrd_xml}{strd_xml}</RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def camt053(entries, *, version=2, statement_id="STMT-1", iban="DE89370400440532013000"):
    """A camt.053.001.<version> document (bytes) with one statement holding `entries` (dicts for entry_xml)."""
    body = "".join(entry_xml(version=version, **e) for e in entries)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-12-05T06:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><Acct><Id><IBAN>{iban}</IBAN></Id></Acct>{body}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode("utf-8")
