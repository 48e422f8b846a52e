//! The lexer: source text to tokens with spans (built on `logos`).
//!
//! `logos` turns the token patterns below into one state machine. A few
//! tokens need more than a regular expression and are finished by small
//! callbacks: numbers (value, `_` separators, overflow), strings (escapes,
//! lines) and block comments (which may be unterminated).
//!
//! Errors never stop the lexer. Callbacks push `(byte offset, message)` pairs
//! into the lexer's extras; [`lex`] turns offsets into line/column spans and
//! keeps going. A token that could not be read at all becomes [`Tok::Error`],
//! which tells the parser "already reported, stay quiet".

use crate::ast::Span;
use crate::diag::CompileError;
use logos::{Logos, Skip};

/// Why `logos` gave up on a token.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LexError {
    /// No pattern matches here (the default for unknown characters).
    #[default]
    UnexpectedChar,
    /// A callback already recorded the error in the extras.
    Reported,
}

/// Errors recorded by callbacks: byte offset and message.
pub type Pending = Vec<(usize, String)>;

/// One token kind. Literal variants carry their decoded value; names and
/// keywords are read back from the source text when needed.
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(extras = Pending)]
#[logos(skip r"[ \t\r\n]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Tok {
    // Keywords.
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("while")]
    While,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("return")]
    Return,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("nil")]
    Nil,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("not")]
    Not,

    #[regex("[A-Za-z_][A-Za-z0-9_]*")]
    Ident,

    /// An integer literal. Values above `u64::MAX` saturate: the parser only
    /// needs to know whether a value fits in an `i64` or is exactly 2^63.
    #[regex("[0-9][0-9_]*", dec_int)]
    #[regex("0[xX][0-9A-Za-z_]*", hex_int)]
    Int(u64),

    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*", float)]
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?[eE][+-]?[0-9][0-9_]*", float)]
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?[eE][+-]?", bad_float)]
    Float(f64),

    /// A string literal with its escapes decoded.
    #[token("\"", string)]
    Str(String),

    /// Never produced: block comments are skipped by their callback.
    #[token("/*", block_comment)]
    BlockComment,

    // Operators and punctuation.
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("~")]
    Tilde,
    #[token("<<")]
    Shl,
    #[token(">>")]
    Shr,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("=")]
    Assign,
    #[token("+=")]
    PlusAssign,
    #[token("-=")]
    MinusAssign,
    #[token("*=")]
    StarAssign,
    #[token("/=")]
    SlashAssign,
    #[token("%=")]
    PercentAssign,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,

    /// Input that formed no token; its error is already reported.
    Error,
    /// The end of the input (always the last token).
    Eof,
}

/// A token with its position: `span` for messages, `start..end` (bytes) to
/// read its text back from the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: Tok,
    pub span: Span,
    pub start: usize,
    pub end: usize,
}

/// Everything the lexer produces.
#[derive(Debug)]
pub struct Lexed {
    /// The tokens, ending with exactly one [`Tok::Eof`].
    pub tokens: Vec<Token>,
    /// Lexing errors in source order.
    pub errors: Vec<CompileError>,
    /// The input ended inside a string or block comment, so "found end of
    /// file" errors would only repeat what was already said.
    pub truncated: bool,
}

const INVALID_NUMBER: &str = "invalid number literal";

/// Splits `src` into tokens, collecting every lexing error.
pub fn lex(src: &str) -> Lexed {
    let mut lexer = Tok::lexer(src);
    let mut pos = Positions::new(src);
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    let mut truncated = false;
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        // Pending errors may come from a comment skipped before this token
        // or from inside it; positions are computed in source order.
        let before = lexer.extras.partition_point(|(o, _)| *o < range.start);
        truncated |= report(lexer.extras.drain(..before), &mut pos, &mut errors);
        let span = pos.at(range.start);
        truncated |= report(lexer.extras.drain(..), &mut pos, &mut errors);
        let kind = match result {
            Ok(kind) => kind,
            Err(LexError::Reported) => Tok::Error,
            Err(LexError::UnexpectedChar) => {
                // One report per run of adjacent unknown characters.
                let follows_error = tokens
                    .last()
                    .is_some_and(|t: &Token| t.kind == Tok::Error && t.end == range.start);
                if follows_error {
                    tokens.last_mut().unwrap().end = range.end;
                    continue;
                }
                let c = src[range.start..].chars().next().unwrap_or('?');
                let message = format!("unexpected character {}", quote(&c.to_string()));
                errors.push(CompileError::new(span, message));
                Tok::Error
            }
        };
        tokens.push(Token {
            kind,
            span,
            start: range.start,
            end: range.end,
        });
    }
    // A skipped unterminated comment is only reported once lexing ends.
    truncated |= report(lexer.extras.drain(..), &mut pos, &mut errors);
    tokens.push(Token {
        kind: Tok::Eof,
        span: pos.at(src.len()),
        start: src.len(),
        end: src.len(),
    });
    Lexed {
        tokens,
        errors,
        truncated,
    }
}

/// Moves the errors recorded by callbacks into `errors`. Returns whether one
/// of them ran into the end of the input.
fn report(
    pending: impl Iterator<Item = (usize, String)>,
    pos: &mut Positions,
    errors: &mut Vec<CompileError>,
) -> bool {
    let mut truncated = false;
    for (offset, message) in pending {
        truncated |= message.starts_with("unterminated");
        errors.push(CompileError::new(pos.at(offset), message));
    }
    truncated
}

/// How many characters of source text a message quotes before `...`.
const QUOTE_LIMIT: usize = 40;

/// Quotes source text for a message: `'text'`. A message must stay on one
/// line (tools read `FILE:LINE:COL: error: MESSAGE` as the first line of
/// stderr), so control characters are escaped (`\n`, `\t`, `\r`, others as
/// `\u{1b}`), and text longer than [`QUOTE_LIMIT`] characters is cut, with
/// `...` after the cut.
pub fn quote(text: &str) -> String {
    let mut out = String::from("'");
    for (i, c) in text.chars().enumerate() {
        if i == QUOTE_LIMIT {
            out.push_str("...");
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Converts byte offsets to line/column, walking forward only. Offsets are
/// asked for in increasing order, so the whole file is scanned once.
struct Positions<'a> {
    src: &'a [u8],
    offset: usize,
    line: u32,
    col: u32,
}

impl<'a> Positions<'a> {
    fn new(src: &'a str) -> Self {
        Positions {
            src: src.as_bytes(),
            offset: 0,
            line: 1,
            col: 1,
        }
    }

    fn at(&mut self, target: usize) -> Span {
        debug_assert!(target >= self.offset, "positions must be asked in order");
        for &b in &self.src[self.offset..target.max(self.offset)] {
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                // Count a character at its first byte, not at continuations.
                self.col += 1;
            }
        }
        self.offset = self.offset.max(target);
        Span::new(self.line, self.col)
    }
}

/// Reads digits in `radix`, ignoring `_`, saturating above `u64::MAX`.
/// `None` if there is no digit, a non-digit, or a trailing `_`.
fn digits_value(text: &str, radix: u32) -> Option<u64> {
    if text.ends_with('_') || !text.bytes().any(|b| b != b'_') {
        return None;
    }
    let mut value: u64 = 0;
    for c in text.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .unwrap_or(u64::MAX);
    }
    Some(value)
}

/// A malformed number still yields a token (value 0) so the parser does not
/// report a second error for the same mistake.
fn number_or_report(lex: &mut logos::Lexer<Tok>, value: Option<u64>) -> u64 {
    value.unwrap_or_else(|| {
        lex.extras.push((lex.span().start, INVALID_NUMBER.into()));
        0
    })
}

fn dec_int(lex: &mut logos::Lexer<Tok>) -> u64 {
    let value = digits_value(lex.slice(), 10);
    number_or_report(lex, value)
}

fn hex_int(lex: &mut logos::Lexer<Tok>) -> u64 {
    let value = digits_value(&lex.slice()[2..], 16);
    number_or_report(lex, value)
}

fn float(lex: &mut logos::Lexer<Tok>) -> f64 {
    let text = lex.slice();
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    match clean.parse::<f64>() {
        Ok(v) if !text.ends_with('_') => v,
        _ => {
            lex.extras.push((lex.span().start, INVALID_NUMBER.into()));
            0.0
        }
    }
}

/// `1e`, `2.5E+`: an exponent with no digits.
fn bad_float(lex: &mut logos::Lexer<Tok>) -> f64 {
    lex.extras.push((lex.span().start, INVALID_NUMBER.into()));
    0.0
}

/// Skips a block comment (they do not nest); reports it if unterminated.
fn block_comment(lex: &mut logos::Lexer<Tok>) -> Skip {
    match lex.remainder().find("*/") {
        Some(i) => lex.bump(i + 2),
        None => {
            lex.extras
                .push((lex.span().start, "unterminated block comment".into()));
            lex.bump(lex.remainder().len());
        }
    }
    Skip
}

/// Reads a string literal after its opening `"`, decoding escapes. Bad
/// escapes are reported and skipped; the string still becomes a token.
fn string(lex: &mut logos::Lexer<Tok>) -> Result<String, LexError> {
    let body_start = lex.span().end;
    let earlier_errors = lex.extras.len();
    let rest = lex.remainder();
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                lex.bump(i + 1);
                return Ok(out);
            }
            '\\' => {
                let escape_start = body_start + i;
                if let Err(message) = escape(&mut chars, &mut out) {
                    lex.extras.push((escape_start, message));
                }
            }
            _ => out.push(c),
        }
    }
    // Without its end, the string's escapes are not worth reporting.
    lex.extras.truncate(earlier_errors);
    lex.extras
        .push((lex.span().start, "unterminated string".into()));
    lex.bump(rest.len());
    Err(LexError::Reported)
}

/// Decodes one escape after its `\`, appending the character to `out`.
fn escape(chars: &mut std::str::CharIndices, out: &mut String) -> Result<(), String> {
    let c = match chars.clone().next() {
        Some((_, c)) => c,
        // `\` at the very end: the missing `"` is reported by the caller.
        None => return Ok(()),
    };
    chars.next();
    let decoded = match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        '\\' => '\\',
        '"' => '"',
        'u' => unicode_escape(chars).ok_or("invalid unicode escape")?,
        other => {
            let shown = quote(&format!("\\{other}"));
            return Err(format!("invalid escape sequence {shown}"));
        }
    };
    out.push(decoded);
    Ok(())
}

/// Decodes the `{1F600}` part of `\u{1F600}`. On failure it consumes no
/// further than the closing `}` (or the first character that cannot belong),
/// so the string's closing `"` is never swallowed.
fn unicode_escape(chars: &mut std::str::CharIndices) -> Option<char> {
    if chars.clone().next().map(|(_, c)| c) != Some('{') {
        return None;
    }
    chars.next();
    let mut value: u32 = 0;
    let mut count = 0;
    loop {
        let (_, c) = chars.clone().next()?;
        if c == '}' {
            chars.next();
            break;
        }
        let d = c.to_digit(16)?;
        chars.next();
        count += 1;
        value = value.saturating_mul(16).saturating_add(d);
    }
    if (1..=6).contains(&count) {
        char::from_u32(value)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        let lexed = lex(src);
        assert!(lexed.errors.is_empty(), "{src:?}: {:?}", lexed.errors);
        lexed.tokens.into_iter().map(|t| t.kind).collect()
    }

    /// `line:col` of every token, `Eof` included.
    fn spans(src: &str) -> Vec<(u32, u32)> {
        let lexed = lex(src);
        lexed
            .tokens
            .iter()
            .map(|t| (t.span.line, t.span.col))
            .collect()
    }

    fn errors(src: &str) -> Vec<String> {
        lex(src).errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn keywords_and_identifiers() {
        use Tok::*;
        let src = "fn let if else while for in return break continue true false nil and or not";
        let expected = vec![
            Fn, Let, If, Else, While, For, In, Return, Break, Continue, True, False, Nil, And, Or,
            Not, Eof,
        ];
        assert_eq!(kinds(src), expected);
        assert_eq!(
            kinds("x _a B9 fnx lets iff _"),
            vec![Ident; 7].into_iter().chain([Eof]).collect::<Vec<_>>()
        );
    }

    #[test]
    fn operators_and_punctuation() {
        use Tok::*;
        let src = "+ - * / % & | ^ ~ << >> == != < <= > >= = += -= *= /= %= ( ) [ ] { } , ; : . ..";
        let expected = vec![
            Plus,
            Minus,
            Star,
            Slash,
            Percent,
            Amp,
            Pipe,
            Caret,
            Tilde,
            Shl,
            Shr,
            EqEq,
            NotEq,
            Lt,
            Le,
            Gt,
            Ge,
            Assign,
            PlusAssign,
            MinusAssign,
            StarAssign,
            SlashAssign,
            PercentAssign,
            LParen,
            RParen,
            LBracket,
            RBracket,
            LBrace,
            RBrace,
            Comma,
            Semi,
            Colon,
            Dot,
            DotDot,
            Eof,
        ];
        assert_eq!(kinds(src), expected);
        // Longest match, no spaces needed.
        assert_eq!(kinds("a<=b<<c"), vec![Ident, Le, Ident, Shl, Ident, Eof]);
        assert_eq!(kinds("..."), vec![DotDot, Dot, Eof]);
    }

    #[test]
    fn integers() {
        use Tok::*;
        assert_eq!(
            kinds("0 123 1_000_000 0xFF 0Xff 0x_1_0 1__0"),
            vec![
                Int(0),
                Int(123),
                Int(1_000_000),
                Int(255),
                Int(255),
                Int(16),
                Int(10),
                Eof
            ]
        );
        assert_eq!(
            kinds("9223372036854775807 9223372036854775808 18446744073709551615"),
            vec![Int(i64::MAX as u64), Int(1 << 63), Int(u64::MAX), Eof]
        );
        // Beyond u64 saturates: still "too large" for the parser.
        assert_eq!(kinds("99999999999999999999999"), vec![Int(u64::MAX), Eof]);
        assert_eq!(kinds("0xFFFFFFFFFFFFFFFFFF"), vec![Int(u64::MAX), Eof]);
    }

    #[test]
    fn floats_and_dots() {
        use Tok::*;
        assert_eq!(
            kinds("1.5 0.25 1e9 2.5e-3 3.0E+2 1_0.5_0"),
            vec![
                Float(1.5),
                Float(0.25),
                Float(1e9),
                Float(2.5e-3),
                Float(300.0),
                Float(10.5),
                Eof
            ]
        );
        assert_eq!(kinds("1..5"), vec![Int(1), DotDot, Int(5), Eof]);
        assert_eq!(kinds("1."), vec![Int(1), Dot, Eof]);
        assert_eq!(kinds(".5"), vec![Dot, Int(5), Eof]);
        assert_eq!(kinds("1.x"), vec![Int(1), Dot, Ident, Eof]);
        assert_eq!(kinds("a.0.1"), vec![Ident, Dot, Float(0.1), Eof]);
    }

    #[test]
    fn malformed_numbers() {
        for src in ["0x", "1e", "1_", "0x_", "2.5e+", "1E-", "0xG", "1.5_"] {
            assert_eq!(
                errors(src),
                vec!["1:1: error: invalid number literal"],
                "{src}"
            );
            // Still one literal token: the parser will not complain again.
            assert_eq!(lex(src).tokens.len(), 2, "{src}");
        }
    }

    #[test]
    fn strings_and_escapes() {
        use Tok::*;
        assert_eq!(
            kinds(r#""" "abc" "a\nb\t\r\0\\\"" "\u{1F600}\u{e9}""#),
            vec![
                Str(String::new()),
                Str("abc".into()),
                Str("a\nb\t\r\0\\\"".into()),
                Str("😀é".into()),
                Eof
            ]
        );
        assert_eq!(kinds("\"two\nlines\""), vec![Str("two\nlines".into()), Eof]);
        assert_eq!(kinds("\"é\" x"), vec![Str("é".into()), Ident, Eof]);
    }

    #[test]
    fn quote_keeps_messages_on_one_line() {
        assert_eq!(quote("}"), "'}'");
        assert_eq!(quote("\"a\nb\tc\r\""), "'\"a\\nb\\tc\\r\"'");
        assert_eq!(
            quote("\u{1b}\0\u{7f}\u{85}é"),
            "'\\u{1b}\\u{0}\\u{7f}\\u{85}é'"
        );
        // Backslashes are not doubled: `'\q'` reads as the source does.
        assert_eq!(quote("\\q"), "'\\q'");
        let forty = "x".repeat(40);
        assert_eq!(quote(&forty), format!("'{forty}'"));
        assert_eq!(quote(&format!("{forty}yz")), format!("'{forty}...'"));
        // The limit counts characters, not bytes.
        let wide = "é".repeat(41);
        assert_eq!(quote(&wide), format!("'{}...'", "é".repeat(40)));
    }

    #[test]
    fn quoted_source_text_is_escaped() {
        assert_eq!(
            errors("x \"\\\n\" y"),
            vec!["1:4: error: invalid escape sequence '\\\\n'"]
        );
        assert_eq!(
            errors("x \"\\\t\""),
            vec!["1:4: error: invalid escape sequence '\\\\t'"]
        );
        assert_eq!(
            errors("x \u{1}"),
            vec!["1:3: error: unexpected character '\\u{1}'"]
        );
        assert_eq!(
            errors("x\u{b}y"),
            vec!["1:2: error: unexpected character '\\u{b}'"]
        );
    }

    #[test]
    fn string_errors() {
        assert_eq!(
            errors(r#"x "a\qb" y"#),
            vec!["1:5: error: invalid escape sequence '\\q'"]
        );
        assert_eq!(
            errors(r#""\u{D800} \u{110000} \u{} \u{1234567} \u12 \u{12""#),
            vec![
                "1:2: error: invalid unicode escape",
                "1:11: error: invalid unicode escape",
                "1:22: error: invalid unicode escape",
                "1:27: error: invalid unicode escape",
                "1:39: error: invalid unicode escape",
                "1:44: error: invalid unicode escape",
            ]
        );
        // A bad escape does not swallow the closing quote.
        let lexed = lex(r#""\q" 1"#);
        assert_eq!(lexed.tokens[1].kind, Tok::Int(1));
        // Unterminated: reported at the opening quote, rest of input consumed.
        let lexed = lex("let s = \"abc\n\ndef");
        assert_eq!(
            lexed.errors[0].to_string(),
            "1:9: error: unterminated string"
        );
        assert!(lexed.truncated);
        assert_eq!(lexed.tokens.last().unwrap().kind, Tok::Eof);
        assert_eq!(lexed.tokens[lexed.tokens.len() - 2].kind, Tok::Error);
        assert_eq!(errors("\"abc\\"), vec!["1:1: error: unterminated string"]);
        assert_eq!(errors("x \"\\q"), vec!["1:3: error: unterminated string"]);
    }

    #[test]
    fn comments() {
        use Tok::*;
        assert_eq!(kinds("a // b c\nd"), vec![Ident, Ident, Eof]);
        assert_eq!(
            kinds("a /* b\n * c */ d /**/ e /* / * */"),
            vec![Ident, Ident, Ident, Eof]
        );
        // Block comments do not nest.
        assert_eq!(kinds("/* /* */ x"), vec![Ident, Eof]);
        assert_eq!(kinds("a/b"), vec![Ident, Slash, Ident, Eof]);
        let lexed = lex("x\n  /* never closed\n");
        assert_eq!(
            lexed.errors[0].to_string(),
            "2:3: error: unterminated block comment"
        );
        assert!(lexed.truncated);
    }

    #[test]
    fn unexpected_characters() {
        assert_eq!(
            errors("a $ b @@@ c # ! é"),
            vec![
                "1:3: error: unexpected character '$'",
                "1:7: error: unexpected character '@'",
                "1:13: error: unexpected character '#'",
                "1:15: error: unexpected character '!'",
                "1:17: error: unexpected character 'é'",
            ]
        );
        let kinds: Vec<Tok> = lex("a @@@ b").tokens.into_iter().map(|t| t.kind).collect();
        assert_eq!(kinds, vec![Tok::Ident, Tok::Error, Tok::Ident, Tok::Eof]);
    }

    #[test]
    fn spans_count_characters() {
        assert_eq!(spans("ab cd\n  e"), vec![(1, 1), (1, 4), (2, 3), (2, 4)]);
        // Multibyte characters and tabs are one column each.
        assert_eq!(spans("\"éé😀\" x"), vec![(1, 1), (1, 7), (1, 8)]);
        assert_eq!(spans("\tx"), vec![(1, 2), (1, 3)]);
        // Strings and comments spanning lines move the line count on.
        assert_eq!(spans("\"a\nb\" /* \n\n */ x"), vec![(1, 1), (4, 5), (4, 6)]);
        assert_eq!(spans("a\r\nb"), vec![(1, 1), (2, 1), (2, 2)]);
        assert_eq!(spans(""), vec![(1, 1)]);
        assert_eq!(spans("x\n"), vec![(1, 1), (2, 1)]);
    }

    #[test]
    fn token_offsets() {
        let lexed = lex("let é = \"ü\";");
        let texts: Vec<(usize, usize)> = lexed.tokens.iter().map(|t| (t.start, t.end)).collect();
        assert_eq!(
            texts,
            vec![(0, 3), (4, 6), (7, 8), (9, 13), (13, 14), (14, 14)]
        );
    }
}
