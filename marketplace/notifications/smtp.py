"""SMTP settings and the wire: `SMTP_URL` parsing, the MIME message, one send."""

import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
TIMEOUT_SECONDS = 30
# Headers fold only past RFC 5322's hard limit: the standard library's folding of a long
# unbroken subject starts it with a space in some mail clients.
POLICY = policy.SMTP.clone(max_line_length=998)


class ConfigError(RuntimeError):
    """A malformed email setting: the app refuses to start."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpSettings:
    """`smtp://user:pass@host:port` (`smtps://` implicit TLS, `?starttls=1` STARTTLS)."""
    problem = "SMTP_URL is malformed ({}): expected smtp://user:pass@host:port or smtps://..."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(problem.format(exc)) from None
    if parts.scheme not in DEFAULT_PORTS:
        raise ConfigError(problem.format(f"scheme {parts.scheme!r}"))
    if not parts.hostname:
        raise ConfigError(problem.format("no host"))
    if parts.path not in ("", "/") or parts.fragment:
        raise ConfigError(problem.format("unexpected path"))
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ConfigError(problem.format(f"unknown option {sorted(unknown)[0]!r}"))
    starttls_word = (query.get("starttls") or ["0"])[-1].lower()
    if starttls_word not in TRUE_WORDS | FALSE_WORDS:
        raise ConfigError(problem.format(f"starttls={starttls_word!r}"))
    starttls = starttls_word in TRUE_WORDS
    if starttls and parts.scheme == "smtps":
        raise ConfigError(problem.format("smtps:// is TLS already; starttls is for smtp://"))
    return SmtpSettings(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def check_config(config: dict[str, Any]) -> None:
    """Refuse to start on a malformed SMTP_URL or MAIL_FROM, naming the variable."""
    if config.get("SMTP_URL"):
        parse_smtp_url(config["SMTP_URL"])
    _name, address = parseaddr(config.get("MAIL_FROM") or "")
    if "@" not in address:
        raise ConfigError(f"MAIL_FROM is malformed: {config.get('MAIL_FROM')!r}")
    public = urlsplit(config.get("PUBLIC_BASE_URL") or "")
    if public.scheme not in ("http", "https") or not public.netloc:
        raise ConfigError(
            f"PUBLIC_BASE_URL is malformed: {config.get('PUBLIC_BASE_URL')!r} "
            "(expected http(s)://host[:port])"
        )


def sender_address(mail_from: str) -> str:
    return parseaddr(mail_from)[1]


def build_message(message: Any, mail_from: str) -> EmailMessage:
    """multipart/alternative text + HTML, the invite as a `text/calendar; method=...` part.

    The Message-ID comes from the outbox id: a copy sent again after a crash is recognisably
    the same message to any client that deduplicates.
    """
    email = EmailMessage(policy=POLICY)
    email["From"] = mail_from
    email["To"] = message.recipient_email
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender_address(mail_from).rpartition("@")[2] or "localhost"
    email["Message-ID"] = f"<{message.id}@{domain}>"
    email["X-Outbox-Id"] = str(message.id)
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    if message.ical:
        # Outlook and Gmail read an invite from an alternative part with a method parameter.
        email.add_alternative(
            message.ical,
            subtype="calendar",
            params={"method": message.ical_method or "REQUEST"},
        )
    return email


def open_connection(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.implicit_tls:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
    try:
        if settings.starttls:
            connection.starttls(context=ssl.create_default_context())
        if settings.username:
            connection.login(settings.username, settings.password or "")
    except BaseException:
        connection.close()
        raise
    return connection


def send(settings: SmtpSettings, email: EmailMessage, mail_from: str) -> None:
    """Hand one message to the server; returns only once the server accepted it."""
    connection = open_connection(settings)
    try:
        connection.send_message(email, from_addr=sender_address(mail_from), to_addrs=[email["To"]])
    finally:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def is_permanent(error: BaseException) -> bool:
    """A 5xx reply will not change on retry (RFC 5321 §4.2.1); 4xx and network errors may."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{rcpt}: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for rcpt, (code, text) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}"
