//! `printf` formatting and backslash escapes (shared with `echo -e`): `%s %b %c %d %i %u %o
//! %x %X %f %e %g %%` with flags, width and precision; the format is reused while
//! arguments remain.

/// Formats like printf(1). Returns the output and the invalid-number complaints.
pub(super) fn format(fmt: &str, args: &[String]) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut next = 0;
    loop {
        let before = next;
        if format_once(fmt, args, &mut next, &mut out, &mut errors) {
            break; // `\c`
        }
        if next >= args.len() || next == before {
            break;
        }
    }
    (out, errors)
}

/// One pass over the format; true if `\c` stopped all output.
fn format_once(
    fmt: &str,
    args: &[String],
    next: &mut usize,
    out: &mut Vec<u8>,
    errors: &mut Vec<String>,
) -> bool {
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let take = |next: &mut usize| {
        let a = args.get(*next).cloned();
        *next += 1;
        a
    };
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '\\' => {
                let (text, used, stop) = escape(&chars, i, false);
                out.extend_from_slice(&text);
                i += used;
                if stop {
                    return true;
                }
            }
            '%' if chars.get(i) == Some(&'%') => {
                out.push(b'%');
                i += 1;
            }
            '%' => {
                let mut spec = Spec::default();
                while let Some(&f @ ('-' | '0' | '+' | ' ' | '#')) = chars.get(i) {
                    spec.flags.push(f);
                    i += 1;
                }
                spec.width = number_or_star(&chars, &mut i, || take(next));
                if chars.get(i) == Some(&'.') {
                    i += 1;
                    spec.precision = Some(number_or_star(&chars, &mut i, || take(next)).unwrap_or(0));
                }
                let Some(&conv) = chars.get(i) else {
                    out.push(b'%');
                    break;
                };
                i += 1;
                let arg = take(next);
                let (text, stop) = convert(conv, &spec, arg.as_deref().unwrap_or(""), arg.is_some(), errors);
                out.extend_from_slice(&spec.pad(
                    text,
                    matches!(conv, 'd' | 'i' | 'u' | 'o' | 'x' | 'X' | 'f' | 'e' | 'g' | 'E' | 'G'),
                ));
                if stop {
                    return true;
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    false
}

#[derive(Default)]
struct Spec {
    flags: Vec<char>,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn pad(&self, text: Vec<u8>, numeric: bool) -> Vec<u8> {
        let width = self.width.unwrap_or(0).min(4096);
        let len = String::from_utf8_lossy(&text).chars().count();
        if len >= width {
            return text;
        }
        let fill = width - len;
        if self.flags.contains(&'-') {
            return [text, vec![b' '; fill]].concat();
        }
        if numeric && self.flags.contains(&'0') && self.precision.is_none() {
            let sign = usize::from(matches!(text.first(), Some(b'-' | b'+' | b' ')));
            let (head, tail) = text.split_at(sign);
            return [head.to_vec(), vec![b'0'; fill], tail.to_vec()].concat();
        }
        [vec![b' '; fill], text].concat()
    }
}

fn number_or_star(chars: &[char], i: &mut usize, mut star: impl FnMut() -> Option<String>) -> Option<usize> {
    if chars.get(*i) == Some(&'*') {
        *i += 1;
        return star().and_then(|s| s.trim().parse().ok());
    }
    let start = *i;
    while chars.get(*i).is_some_and(char::is_ascii_digit) {
        *i += 1;
    }
    chars.get(start..*i).and_then(|d| d.iter().collect::<String>().parse().ok())
}

/// One conversion; true in the second slot if a `%b` argument said `\c`.
fn convert(conv: char, spec: &Spec, arg: &str, present: bool, errors: &mut Vec<String>) -> (Vec<u8>, bool) {
    let sign = |neg: bool| {
        if neg {
            "-"
        } else if spec.flags.contains(&'+') {
            "+"
        } else if spec.flags.contains(&' ') {
            " "
        } else {
            ""
        }
    };
    let text = match conv {
        's' => match spec.precision {
            Some(p) => arg.chars().take(p).collect(),
            None => arg.to_string(),
        },
        'b' => {
            let (bytes, stop) = unescape(arg);
            return (bytes, stop);
        }
        'c' => arg.chars().next().map(String::from).unwrap_or_default(),
        'd' | 'i' => {
            let n = integer(arg, present, errors);
            format!("{}{}", sign(n < 0), n.unsigned_abs())
        }
        'u' | 'o' | 'x' | 'X' => {
            let n = integer(arg, present, errors).cast_unsigned();
            match conv {
                'o' => format!("{n:o}"),
                'x' => format!("{n:x}"),
                'X' => format!("{n:X}"),
                _ => n.to_string(),
            }
        }
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let v: f64 = arg.trim().parse().unwrap_or_else(|_| {
                if present && !arg.is_empty() {
                    errors.push(format!("printf: {arg}: invalid number"));
                }
                0.0
            });
            let p = spec.precision.unwrap_or(6).min(64);
            let body = match conv {
                'e' | 'E' => exp(v.abs(), p),
                'g' | 'G' => general(v.abs(), p),
                _ => format!("{:.p$}", v.abs()),
            };
            let body = if conv.is_ascii_uppercase() { body.to_uppercase() } else { body };
            format!("{}{body}", sign(v.is_sign_negative() && v != 0.0))
        }
        other => {
            errors.push(format!("printf: %{other}: invalid directive"));
            String::new()
        }
    };
    (text.into_bytes(), false)
}

fn integer(arg: &str, present: bool, errors: &mut Vec<String>) -> i64 {
    let s = arg.trim();
    if !present || s.is_empty() {
        return 0;
    }
    if let Some(c) = s.strip_prefix(['\'', '"']).and_then(|r| r.chars().next()) {
        return i64::from(u32::from(c));
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let parsed = if let Some(h) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(digits, 8)
    } else {
        digits.parse()
    };
    match parsed {
        Ok(n) if neg => n.wrapping_neg(),
        Ok(n) => n,
        Err(_) => {
            errors.push(format!("printf: {arg}: invalid number"));
            0
        }
    }
}

/// `%e`: `d.ddde+XX`.
fn exp(v: f64, p: usize) -> String {
    let s = format!("{v:.p$e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let e: i32 = e.parse().unwrap_or(0);
            format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.unsigned_abs())
        }
        None => s,
    }
}

/// `%g`: `%e` for very small or large values, else `%f`; trailing zeros dropped.
fn general(v: f64, p: usize) -> String {
    let p = p.max(1);
    let e = if v == 0.0 { 0 } else { v.log10().floor() as i64 };
    let trim = |s: String| {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    };
    if e < -4 || e >= i64::try_from(p).unwrap_or(i64::MAX) {
        let s = exp(v, p - 1);
        match s.split_once('e') {
            Some((m, rest)) => format!("{}e{rest}", trim(m.to_string())),
            None => s,
        }
    } else {
        let decimals = usize::try_from(i64::try_from(p).unwrap_or(6) - 1 - e).unwrap_or(0);
        trim(format!("{v:.decimals$}"))
    }
}

/// Interprets backslash escapes in `s` (for `%b` and `echo -e`); true if `\c` stops output.
pub(super) fn unescape(s: &str) -> (Vec<u8>, bool) {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let (text, used, stop) = escape(&chars, i, true);
        out.extend_from_slice(&text);
        i += used;
        if stop {
            return (out, true);
        }
    }
    (out, false)
}

/// The escape after a backslash at `chars[i..]`: (bytes, chars used, `\c` seen). `%b`-style
/// octal is `\0NNN`; format-style is `\NNN`.
fn escape(chars: &[char], i: usize, b_style: bool) -> (Vec<u8>, usize, bool) {
    let Some(&c) = chars.get(i) else { return (b"\\".to_vec(), 0, false) };
    let simple = |b: u8| (vec![b], 1, false);
    match c {
        'n' => simple(b'\n'),
        't' => simple(b'\t'),
        'r' => simple(b'\r'),
        'a' => simple(7),
        'b' => simple(8),
        'f' => simple(12),
        'v' => simple(11),
        'e' => simple(27),
        '\\' => simple(b'\\'),
        '"' => simple(b'"'),
        '\'' => simple(b'\''),
        'c' => (Vec::new(), 1, true),
        'x' => {
            let digits: String =
                chars.iter().skip(i + 1).take(2).take_while(|c| c.is_ascii_hexdigit()).collect();
            match u8::from_str_radix(&digits, 16) {
                Ok(b) => (vec![b], 1 + digits.len(), false),
                Err(_) => (b"\\x".to_vec(), 1, false),
            }
        }
        '0'..='7' => {
            let skip = usize::from(b_style && c == '0');
            let digits: String = chars.iter().skip(i + skip).take(3).take_while(|c| c.is_digit(8)).collect();
            let value = u32::from_str_radix(&digits, 8).unwrap_or(0);
            (vec![u8::try_from(value & 0xff).unwrap_or(0)], skip + digits.len().max(1), false)
        }
        other => {
            let mut buf = [0u8; 4];
            ([b"\\", other.encode_utf8(&mut buf).as_bytes()].concat(), 1, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        String::from_utf8(format(fmt, &args).0).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(f("{\"a\":1}", &[]), "{\"a\":1}");
        assert_eq!(f("%s=%d\\n", &["a", "1", "b", "2"]), "a=1\nb=2\n");
        assert_eq!(f("[%5s|%-3s|%03d|%x]", &["ab", "c", "7", "255"]), "[   ab|c  |007|ff]");
        assert_eq!(f("%.2f %s", &["3.14159"]), "3.14 ");
        assert_eq!(f("%b", &["a\\tb\\0101"]), "a\tbA");
        assert_eq!(f("%e", &["1234.5"]), "1.234500e+03");
        assert_eq!(f("%g %g", &["0.0001", "100000"]), "0.0001 100000");
        assert_eq!(f("100%%\\101", &[]), "100%A");
        assert_eq!(f("%s%b tail", &["x", "y\\cz"]), "xy");
        assert_eq!(f("%d", &["nope"]), "0");
        assert_eq!(f("%", &[]), "%");
        assert_eq!(f("%*d|%.*s", &["4", "5", "2", "abcdef"]), "   5|ab");
    }
}
