//! The lexer: source text to tokens with spans (built on `logos`).
