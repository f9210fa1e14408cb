"""The part of the CloudWatch Logs Insights query language `lab insights` evaluates itself (the
emulator's Insights supports almost none of it): fields, display, filter (comparisons, like
/regex/, =~, ispresent(), and/or/not, parentheses), sort, limit, over log events. Anything else
(stats, parse, dedup, ...) is refused in one line (QueryError).
"""
import json
import re
from datetime import datetime, timezone

from .compose import LabError

SUPPORTED = ("fields", "display", "filter", "sort", "limit")


class QueryError(LabError):
    pass


# --- parsing -------------------------------------------------------------------------------

TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<regex>/(?:[^/\\]|\\.)*/i?)
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<op>>=|<=|!=|==|=~|[=<>(),])
  | (?P<name>`[^`]+`|[@A-Za-z_][\w.@$-]*)
)""", re.X)


def _tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"cannot parse the query near {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "regex" and not (out and out[-1] in (("name", "like"), ("op", "=~"))):
            raise QueryError(f"unsupported syntax near {value!r}")
        out.append((kind, value))
        pos = m.end()
    return out


def _split_commands(query):
    parts, buf, quote = [], [], None
    for ch in query:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'/`":
            quote = ch if ch != "/" or (buf and "like" in "".join(buf[-6:]).lower() or "=~" in "".join(buf[-4:])) else None
            buf.append(ch)
        elif ch == "|":
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf).strip())
    return [p for p in parts if p]


def _field(name):
    return name[1:-1] if name.startswith("`") else name


class _Expr:
    """Recursive descent over tokens: or > and > not > comparison."""

    def __init__(self, tokens):
        self.t, self.i = tokens, 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def word(self, w):
        kind, value = self.peek()
        return kind == "name" and value.lower() == w

    def parse(self):
        node = self.or_()
        if self.i != len(self.t):
            raise QueryError(f"unsupported filter syntax near {self.t[self.i][1]!r}")
        return node

    def or_(self):
        node = self.and_()
        while self.word("or"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.word("and"):
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self):
        if self.word("not"):
            self.take()
            return ("not", self.not_())
        return self.cmp()

    def value(self):
        kind, value = self.take()
        if kind == "num":
            return ("lit", float(value))
        if kind == "str":
            return ("lit", bytes(value[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "name":
            if self.peek() == ("op", "("):
                raise QueryError(f"function {value}() is not supported locally (only ispresent())")
            return ("field", _field(value))
        raise QueryError(f"expected a field or a value, found {value!r}")

    def cmp(self):
        if self.peek() == ("op", "("):
            self.take()
            node = self.or_()
            if self.take() != ("op", ")"):
                raise QueryError("missing ')' in filter")
            return node
        if self.word("ispresent"):
            self.take()
            if self.take() != ("op", "("):
                raise QueryError("ispresent needs (field)")
            _, name = self.take()
            if self.take() != ("op", ")"):
                raise QueryError("missing ')' after ispresent(field")
            return ("present", _field(name))
        left = self.value()
        kind, op = self.peek()
        if kind == "op" and op in ("=", "==", "!=", "<", "<=", ">", ">="):
            self.take()
            return ("cmp", "==" if op == "=" else op, left, self.value())
        if (kind == "name" and op.lower() == "like") or (kind, op) == ("op", "=~"):
            self.take()
            pkind, pattern = self.take()
            if pkind == "regex":
                flags = re.I if pattern.endswith("i") else 0
                return ("re", left, re.compile(pattern[1:pattern.rindex("/")], flags))
            if pkind == "str":
                return ("re", left, re.compile(re.escape(pattern[1:-1])))
            raise QueryError("like needs a /regex/ or a \"string\"")
        if kind == "name" and op.lower() == "in":
            raise QueryError("'in [...]' is not supported locally")
        if left[0] == "field" and kind in (None,) or kind == "name" and op.lower() in ("and", "or"):
            return ("truthy", left)
        raise QueryError(f"unsupported filter syntax near {op!r}")


def parse(query):
    """Query text -> list of (command, argument) steps; QueryError for what we do not run."""
    steps = []
    for part in _split_commands(query):
        command, _, rest = part.partition(" ")
        command = command.lower()
        rest = rest.strip()
        if command not in SUPPORTED:
            raise QueryError(f"'{command}' is not supported by the local evaluator (it runs only "
                             f"{', '.join(SUPPORTED)}); run it on the aws backend")
        if command in ("fields", "display"):
            names = [f.strip() for f in rest.split(",") if f.strip()]
            for name in names:
                if not re.fullmatch(r"`[^`]+`|[@A-Za-z_][\w.@$-]*", name):
                    raise QueryError(f"fields: only plain field names are supported locally, not {name!r}")
            steps.append((command, [_field(n) for n in names]))
        elif command == "filter":
            steps.append(("filter", _Expr(_tokens(rest)).parse()))
        elif command == "sort":
            keys = []
            for item in rest.split(","):
                words = item.split()
                if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                    raise QueryError(f"sort: cannot read {item.strip()!r}")
                keys.append((_field(words[0]), len(words) == 2 and words[1].lower() == "desc"))
            steps.append(("sort", keys))
        elif command == "limit":
            if not rest.isdigit() or not 0 < int(rest) <= 10000:
                raise QueryError("limit takes a number from 1 to 10000")
            steps.append(("limit", int(rest)))
    return steps


# --- evaluation ----------------------------------------------------------------------------

def _flatten(obj, prefix="", out=None):
    out = {} if out is None else out
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict):
            _flatten(value, name + ".", out)
        elif not isinstance(value, list):
            out[name] = value
    return out


def record(event):
    """One log event -> the fields Insights would discover (JSON flattened with dots)."""
    ts = datetime.fromtimestamp(event["timestamp"] / 1000, timezone.utc)
    fields = {"@timestamp": ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}",
              "@message": event.get("message", ""), "@logStream": event.get("logStreamName", ""),
              "@ingestionTime": event.get("ingestionTime")}
    try:
        doc = json.loads(event.get("message", ""))
        if isinstance(doc, dict):
            fields.update(_flatten(doc))
    except ValueError:
        pass
    return fields


def _num(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _val(node, rec):
    return node[1] if node[0] == "lit" else rec.get(node[1])


def _eval(node, rec):
    op = node[0]
    if op == "and":
        return _eval(node[1], rec) and _eval(node[2], rec)
    if op == "or":
        return _eval(node[1], rec) or _eval(node[2], rec)
    if op == "not":
        return not _eval(node[1], rec)
    if op == "present":
        return rec.get(node[1]) is not None
    if op == "truthy":
        return bool(_val(node[1], rec))
    if op == "re":
        value = _val(node[1], rec)
        return value is not None and node[2].search(str(value)) is not None
    _, cmp, left, right = node
    a, b = _val(left, rec), _val(right, rec)
    if a is None or b is None:
        return False
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        a, b = na, nb
    else:
        a, b = str(a), str(b)
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[cmp]


def _sort_key(value):
    n = _num(value)
    return (0, n, "") if n is not None else (1, 0.0, "" if value is None else str(value))


def evaluate(query, events, default_limit=1000):
    """Run `query` over log events ({timestamp, message, ...}); returns (columns, rows)."""
    steps = parse(query)
    records = [record(e) for e in events]
    columns, limit = None, default_limit
    for command, arg in steps:
        if command == "filter":
            records = [r for r in records if _eval(arg, r)]
        elif command == "sort":
            for name, desc in reversed(arg):
                records.sort(key=lambda r: _sort_key(r.get(name)), reverse=desc)
        elif command == "limit":
            limit = arg
        else:   # fields / display: the last one names the columns
            columns = arg
    columns = columns or ["@timestamp", "@message"]
    return columns, [[r.get(c) for c in columns] for r in records[:limit]]
