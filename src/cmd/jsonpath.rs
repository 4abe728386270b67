//! kubectl's `-o jsonpath=TEMPLATE` (k8s.io/client-go/util/jsonpath), the part scripts use:
//! text with `{…}` expressions; an expression is a path of `.field`, `['field']`, `[n]`,
//! `[*]` (and `..field` is not supported), `{range PATH}…{end}` repeats its body per result,
//! several results of one expression print separated by spaces, `{"\n"}`-style quoted text
//! and `\n`/`\t` escapes print as text.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Path(Vec<Step>),
    Range(Vec<Step>, Vec<Part>),
}

/// Renders `template` over `value`, or says what in the template is wrong.
pub fn render(template: &str, value: &Value) -> Result<String, String> {
    let mut tokens = tokenize(template)?.into_iter();
    let parts = parse(&mut tokens, false)?;
    let mut out = String::new();
    emit(&parts, value, &mut out)?;
    Ok(out)
}

enum Token {
    Text(String),
    Expr(String),
}

fn tokenize(template: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        if start > 0 {
            out.push(Token::Text(unescape(&rest[..start])));
        }
        let Some(end) = rest[start..].find('}') else {
            return Err(format!("unclosed action in template {template:?}"));
        };
        out.push(Token::Expr(rest[start + 1..start + end].trim().to_string()));
        rest = &rest[start + end + 1..];
    }
    if !rest.is_empty() {
        out.push(Token::Text(unescape(rest)));
    }
    Ok(out)
}

fn unescape(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\t", "\t")
}

fn parse(tokens: &mut std::vec::IntoIter<Token>, in_range: bool) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    while let Some(token) = tokens.next() {
        match token {
            Token::Text(t) => parts.push(Part::Text(t)),
            Token::Expr(e) if e == "end" => {
                return if in_range {
                    Ok(parts)
                } else {
                    Err("not in range, nothing to end".to_string())
                };
            }
            Token::Expr(e) => {
                if let Some(path) = e.strip_prefix("range ") {
                    let body = parse(tokens, true)?;
                    parts.push(Part::Range(path_steps(path.trim())?, body));
                } else if let Some(quoted) = e
                    .strip_prefix('"')
                    .and_then(|q| q.strip_suffix('"'))
                    .or_else(|| e.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')))
                {
                    parts.push(Part::Text(unescape(quoted)));
                } else {
                    parts.push(Part::Path(path_steps(&e)?));
                }
            }
        }
    }
    if in_range {
        return Err("range without end".to_string());
    }
    Ok(parts)
}

fn path_steps(path: &str) -> Result<Vec<Step>, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    // `@` is the current object, the default.
    if chars.first() == Some(&'@') || chars.first() == Some(&'$') {
        i = 1;
    }
    while i < chars.len() {
        match chars[i] {
            '.' => {
                if chars.get(i + 1) == Some(&'.') {
                    return Err(format!("recursive descent (..) is not supported in {path:?}"));
                }
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let Some(len) = chars[i..].iter().position(|&c| c == ']') else {
                    return Err(format!("unterminated [ in {path:?}"));
                };
                let inner: String = chars[i + 1..i + len].iter().collect();
                let inner = inner.trim();
                steps.push(if inner == "*" {
                    Step::All
                } else if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|q| q.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|q| q.strip_suffix('"')))
                {
                    Step::Field(q.to_string())
                } else {
                    Step::Index(
                        inner
                            .parse()
                            .map_err(|_| format!("unsupported subscript [{inner}] in {path:?}"))?,
                    )
                });
                i += len + 1;
            }
            c => return Err(format!("unexpected {c:?} in {path:?}")),
        }
    }
    Ok(steps)
}

/// Every value the path reaches from `value`; a field that is missing reaches nothing.
fn select<'a>(steps: &[Step], value: &'a Value) -> Result<Vec<&'a Value>, String> {
    let mut current = vec![value];
    for step in steps {
        let mut next = Vec::new();
        for v in current {
            match step {
                Step::Field(name) => {
                    if let Some(x) = v.get(name) {
                        next.push(x);
                    }
                }
                Step::Index(n) => {
                    let Some(items) = v.as_array() else { continue };
                    let at = if *n < 0 { items.len() as i64 + n } else { *n };
                    match usize::try_from(at).ok().and_then(|i| items.get(i)) {
                        Some(x) => next.push(x),
                        None => return Err(format!("array index out of bounds: index {n}, length {}", items.len())),
                    }
                }
                Step::All => match v {
                    Value::Array(items) => next.extend(items),
                    Value::Object(map) => next.extend(map.values()),
                    _ => {}
                },
            }
        }
        current = next;
    }
    Ok(current)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn emit(parts: &[Part], value: &Value, out: &mut String) -> Result<(), String> {
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Path(steps) => {
                let found = select(steps, value)?;
                out.push_str(&found.iter().map(|v| text_of(v)).collect::<Vec<_>>().join(" "));
            }
            Part::Range(steps, body) => {
                for v in select(steps, value)? {
                    emit(body, v, out)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::render;
    use serde_json::json;

    fn list() -> serde_json::Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}}, "status": {"phase": "Running", "podIP": null}},
            {"metadata": {"name": "b", "labels": {}}, "status": {"phase": "Pending"}},
        ]})
    }

    #[test]
    fn paths_wildcards_ranges_and_text_as_kubectl() {
        let v = list();
        assert_eq!(render("{.items[*].metadata.name}", &v).unwrap(), "a b");
        assert_eq!(render("{.items[0].status.phase}", &v).unwrap(), "Running");
        assert_eq!(render("{.items[-1].metadata.name}", &v).unwrap(), "b");
        assert_eq!(
            render("{.items[0].metadata.labels['app.kubernetes.io/name']}", &v).unwrap(),
            "x"
        );
        assert_eq!(
            render(
                "{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}",
                &v
            )
            .unwrap(),
            "a\tRunning\nb\tPending\n"
        );
        assert_eq!(render("name: {.kind}\\n", &v).unwrap(), "name: List\n");
        assert_eq!(render("{.items[0].status.podIP}{.missing}", &v).unwrap(), "");
        assert_eq!(
            render("{.items[0].metadata.labels}", &v).unwrap(),
            "{\"app.kubernetes.io/name\":\"x\"}"
        );
    }

    #[test]
    fn template_errors_are_reported() {
        let v = list();
        assert_eq!(
            render("{.items[5]}", &v).unwrap_err(),
            "array index out of bounds: index 5, length 2"
        );
        assert_eq!(
            render("{.items", &v).unwrap_err(),
            "unclosed action in template \"{.items\""
        );
        assert_eq!(render("{range .items[*]}x", &v).unwrap_err(), "range without end");
        assert_eq!(render("{end}", &v).unwrap_err(), "not in range, nothing to end");
        assert_eq!(
            render("{..name}", &v).unwrap_err(),
            "recursive descent (..) is not supported in \"..name\""
        );
    }
}
