//! Making event-supplied text safe to show: secrets masked, lengths bounded, control and
//! direction-changing characters neutralised.

use crate::redact;

/// How much of each event-supplied value a rendering keeps. The renderer starts generous and
/// tightens these until the whole SNS message fits its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Characters kept of one value (a name, a description, a user agent, an error message).
    pub field: usize,
    /// Entries kept of one list (runbook steps, actions, withheld actions).
    pub items: usize,
    /// Whether the state an action read before and after acting is included.
    pub state: bool,
}

impl Limits {
    /// From generous to tight: the first whose message fits is used.
    pub const LADDER: [Limits; 4] = [
        Limits {
            field: 4000,
            items: 50,
            state: true,
        },
        Limits {
            field: 1000,
            items: 20,
            state: true,
        },
        Limits {
            field: 200,
            items: 10,
            state: false,
        },
        Limits {
            field: 60,
            items: 5,
            state: false,
        },
    ];

    /// Secrets masked, then cut to `field` characters (with `...`). Only a bounded prefix is
    /// masked (the field plus a margin wider than any secret's shape), so that rendering a
    /// 240 KB hostile value costs what rendering its first few kilobytes does; the masking
    /// still sees whole secrets at the cut, and the plan's texts were masked whole already.
    pub fn clip(&self, s: &str) -> String {
        const MARGIN: usize = 1024;
        let bounded = match s.char_indices().nth(self.field + MARGIN) {
            Some((i, _)) => &s[..i],
            None => s,
        };
        cut_chars(&redact::text(bounded), self.field)
    }

    /// [`Limits::clip`], then made a single safe line (see [`one_line`]).
    pub fn line(&self, s: &str) -> String {
        one_line(&self.clip(s))
    }
}

/// Cuts text to at most `max` characters, marking the cut with `...`.
pub(crate) fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max <= 3 {
        return s.chars().take(max).collect();
    }
    let mut out: String = s.chars().take(max - 3).collect();
    out.truncate(out.trim_end().len());
    out.push_str("...");
    out
}

/// Characters that change how surrounding text is displayed without being seen themselves:
/// bidirectional overrides and isolates, and zero-width characters. They are how "Trojan
/// Source" style names hide what they are.
pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{061C}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// One line of text for people: control characters (newlines included) become spaces, runs of
/// spaces collapse, invisible formatting characters become `?`. Other Unicode is kept.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else if is_invisible_format(c) {
            '?'
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// A token for chat keywords and thread ids: ASCII letters, digits and `:/._-` only.
pub(crate) fn token(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ":/._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(max)
        .collect();
    t.trim_matches('_').to_string()
}

/// Takes out what chat markdown acts on even inside code: `<…>` makes links and mentions
/// (`<!channel>`), a backtick ends the span.
pub(crate) fn defuse(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => '(',
            '>' => ')',
            '`' => '\'',
            c => c,
        })
        .collect()
}

/// Prose (a rule's runbook, which may quote event values; a subject, which names resources):
/// what chat markdown acts on is replaced by a look-alike it does not act on: `*` (bold), `~`
/// (strike), `@` (mentions), `](` (a link's target) and `://` (bare URLs become links).
/// Brackets, underscores and the rest stay as they are.
pub(crate) fn plain(s: &str, lim: Limits) -> String {
    let escaped: String = defuse(&lim.line(s))
        .chars()
        .map(|c| match c {
            '*' => '\u{2217}',
            '~' => '\u{223C}',
            '@' => '\u{FF20}',
            c => c,
        })
        .collect();
    escaped
        .replace("](", "\u{FF3D}(")
        .replace("://", "\u{2236}//")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_marks_the_cut_and_counts_characters() {
        assert_eq!(cut_chars("abcdef", 6), "abcdef");
        assert_eq!(cut_chars("abcdefg", 6), "abc...");
        assert_eq!(cut_chars("日本語テキスト", 5), "日本...");
    }

    #[test]
    fn one_line_neutralises_controls_and_direction_overrides() {
        assert_eq!(one_line("a\r\n\tb  c"), "a b c");
        assert_eq!(one_line("evil\u{202E}gpj.exe"), "evil?gpj.exe");
        assert_eq!(one_line("zero\u{200B}width"), "zero?width");
        assert_eq!(one_line("名前 ok"), "名前 ok");
    }

    #[test]
    fn tokens_are_plain_ascii() {
        assert_eq!(
            token("guardduty:Recon:EC2/Port Probe", 100),
            "guardduty:Recon:EC2/Port_Probe"
        );
        assert_eq!(token("<!channel>", 100), "channel");
    }
}
