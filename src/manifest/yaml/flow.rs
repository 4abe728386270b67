//! Flow collections written over several lines, read as Kubernetes reads them.
//!
//! go-yaml (libyaml's scanner, which Kubernetes' sigs.k8s.io/yaml uses) ignores indentation
//! inside flow collections (`yaml_parser_unroll_indent`: "In the flow context, do nothing").
//! `yaml-rust2` requires every line inside one to be indented past the block node that holds
//! it, so a manifest such as
//!
//! ```yaml
//! command: [
//!   "sh", "-c"
//! ]
//! ```
//!
//! inside a mapping indented by two would be refused with `invalid indentation`. Before
//! parsing, [`relax`] indents each line that starts inside a flow collection far enough, and
//! returns how many spaces it added to each line, so positions are reported against the
//! original text. Only leading spaces of lines inside flow collections change; block scalars,
//! quoted scalars and comments are recognised so that their text is never touched.

/// The text with lines inside flow collections indented enough, and the spaces added to each
/// line (0-based), for mapping columns back.
pub(super) fn relax(text: &str) -> (std::borrow::Cow<'_, str>, Vec<usize>) {
    // Nearly every file needs nothing: the text is copied only when a line moves.
    if !text.contains(['[', '{']) {
        return (std::borrow::Cow::Borrowed(text), Vec::new());
    }
    let mut scanner = Scanner::default();
    let pads: Vec<usize> = text.split_inclusive('\n').map(|line| scanner.line(line)).collect();
    if pads.iter().all(|&p| p == 0) {
        return (std::borrow::Cow::Borrowed(text), Vec::new());
    }
    let mut out = String::with_capacity(text.len() + pads.iter().sum::<usize>());
    for (line, &pad) in text.split_inclusive('\n').zip(&pads) {
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(line);
    }
    (std::borrow::Cow::Owned(out), pads)
}

#[derive(Default)]
struct Scanner {
    /// Open flow collections.
    depth: usize,
    /// The column lines inside the current flow collection must reach.
    min_col: usize,
    /// Inside a quoted scalar that continues on the next line.
    quote: Option<char>,
    /// Inside a block scalar: lines indented more than this column (or blank) are its text.
    block_scalar: Option<usize>,
}

impl Scanner {
    /// Reads one line; returns the spaces to add before it.
    fn line(&mut self, line: &str) -> usize {
        let body = line.trim_end_matches(['\n', '\r']);
        let lead = body.len() - body.trim_start_matches(' ').len();
        let blank = body.trim().is_empty();
        if let Some(parent) = self.block_scalar {
            if blank || lead > parent {
                return 0;
            }
            self.block_scalar = None;
        }
        if self.depth == 0 && self.quote.is_none() && (body.starts_with("---") || body.starts_with("...")) {
            return 0;
        }
        let pad = if self.depth > 0 && !blank && lead < self.min_col {
            self.min_col - lead
        } else {
            0
        };
        let chars: Vec<char> = body.chars().collect();
        let mut i = lead;
        if let Some(q) = self.quote {
            match skip_quoted(&chars, i, q) {
                Some(end) => {
                    self.quote = None;
                    i = end;
                }
                None => return pad,
            }
        }
        if self.depth > 0 {
            i = self.flow(&chars, i);
            if self.depth > 0 || self.quote.is_some() {
                return pad;
            }
        }
        self.block(&chars, i);
        pad
    }

    /// Scans block context from `i`: where values start, a flow collection, a quoted scalar or
    /// a block scalar may open.
    fn block(&mut self, chars: &[char], mut i: usize) {
        let skip_spaces = |mut i: usize| {
            while chars.get(i) == Some(&' ') {
                i += 1;
            }
            i
        };
        i = skip_spaces(i);
        let line_start = i;
        let mut last_dash = None;
        // `- - value`: sequence entries before the node.
        while chars.get(i) == Some(&'-') && chars.get(i + 1).is_none_or(|c| *c == ' ') {
            last_dash = Some(i);
            i = skip_spaces(i + 1);
        }
        let node_col = i;
        let mut value_start = true;
        while i < chars.len() {
            let c = chars[i];
            if value_start {
                // Anchors and tags may stand before the value.
                if (c == '&' || c == '!') && i < chars.len() {
                    while i < chars.len() && chars[i] != ' ' {
                        i += 1;
                    }
                    i = skip_spaces(i);
                    continue;
                }
                match c {
                    '[' | '{' => {
                        self.depth = 0;
                        // Past the key that holds it, or past the dash of an entry.
                        self.min_col = match last_dash {
                            Some(dash) if i == node_col => dash + 1,
                            _ => node_col + 1,
                        };
                        i = self.flow(chars, i);
                        if self.depth > 0 || self.quote.is_some() {
                            return;
                        }
                        value_start = false;
                        continue;
                    }
                    '"' | '\'' => match skip_quoted(chars, i + 1, c) {
                        Some(end) => {
                            i = end;
                            value_start = false;
                            continue;
                        }
                        None => {
                            self.quote = Some(c);
                            return;
                        }
                    },
                    '|' | '>' => {
                        // The text belongs to the node whose value it is: a sequence entry
                        // written `- |` to the dash's column, a key's value to the key's.
                        let parent = if i == node_col && node_col > line_start {
                            line_start
                        } else {
                            node_col
                        };
                        self.block_scalar = Some(parent);
                        return;
                    }
                    '#' => return,
                    _ => value_start = false,
                }
            }
            if c == '#' && i > 0 && chars[i - 1] == ' ' {
                return;
            }
            if c == ':' && chars.get(i + 1).is_none_or(|n| *n == ' ') {
                i = skip_spaces(i + 1);
                value_start = true;
                continue;
            }
            i += 1;
        }
    }

    /// Scans flow context from `i` (at or inside a collection); returns where it ended: after
    /// the collection closed, or the line's end.
    fn flow(&mut self, chars: &[char], mut i: usize) -> usize {
        while i < chars.len() {
            match chars[i] {
                '[' | '{' => self.depth += 1,
                ']' | '}' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return i + 1;
                    }
                }
                q @ ('"' | '\'') => match skip_quoted(chars, i + 1, q) {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    None => {
                        self.quote = Some(q);
                        return chars.len();
                    }
                },
                '#' if i == 0 || chars[i - 1] == ' ' => return chars.len(),
                _ => {}
            }
            i += 1;
        }
        i
    }
}

/// The index after the closing quote of a scalar whose text starts at `i`, or None when it
/// continues on the next line. `'` is escaped as `''`, `"` with a backslash.
fn skip_quoted(chars: &[char], mut i: usize, quote: char) -> Option<usize> {
    while i < chars.len() {
        let c = chars[i];
        if quote == '"' && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if quote == '\'' && chars.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::relax;

    fn relaxed(text: &str) -> (String, Vec<usize>) {
        let (t, p) = relax(text);
        (t.into_owned(), p)
    }

    #[test]
    fn lines_inside_a_flow_collection_reach_past_their_key() {
        let text = "a:\n  command: [\n    \"sh\",\n  \"-c\"\n  ]\n  labels: {\n  x: y\n  }\n";
        assert_eq!(
            relaxed(text),
            (
                "a:\n  command: [\n    \"sh\",\n   \"-c\"\n   ]\n  labels: {\n   x: y\n   }\n".to_string(),
                vec![0, 0, 0, 1, 1, 0, 1, 1]
            )
        );
    }

    #[test]
    fn well_indented_text_is_untouched() {
        let text = "a: [1, 2]\nb:\n- [\n    x\n  ]\n";
        let (t, pads) = relax(text);
        assert!(matches!(t, std::borrow::Cow::Borrowed(_)));
        assert!(pads.is_empty());
    }

    #[test]
    fn brackets_in_scalars_comments_and_block_text_open_nothing() {
        for text in [
            "a: echo [x\nb: 1\n",
            "a: \"[\"\nb: 1\n",
            "a: '[''x'\nb: 1\n",
            "a: 1 # [\nb: 1\n",
            "a: |\n  [\nb: 1\n",
            "- >\n  {\n- 1\n",
            "a: \"x\n  [y\"\nb: 1\n",
        ] {
            let (t, pads) = relax(text);
            assert!(pads.is_empty(), "{text:?} → {t:?}");
        }
    }

    #[test]
    fn quoted_text_inside_a_flow_collection_may_hold_brackets() {
        let text = "a:\n  b: [\"]\", '#[',\n  # ]\n  c]\n";
        assert_eq!(relaxed(text).1, vec![0, 0, 1, 1]);
    }
}
