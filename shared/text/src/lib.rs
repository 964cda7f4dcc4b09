//! Text every crate shares, so each mechanism exists once. Pure: no I/O.
//!
//! - [`html_blocks`] / [`html_to_text`]: HTML to text. One traversal of an HTML5 parse
//!   decides what is hidden, where lines and pages break, and how white space collapses;
//!   [`HtmlOptions`] say what differs between callers: feedback keeps paragraph gaps and
//!   can drop the quotes of HTML mail, filings lay table rows out their own way.
//! - [`split_sentences`]: sentences, not cut at abbreviations, initials or decimals.
//! - [`words`]: lower-cased words, apostrophes kept inside them.
//!
//! # Why filings keep a renderer of their own
//!
//! `sluice-filing-sections` does more than HTML to text: it splits EDGAR's SGML
//! submissions into documents, reads EDGAR's plain-text markup (`<PAGE>`, `<S>`, `<C>`),
//! expands XHTML self-closing tags before parsing, removes page furniture, and merges the
//! cells of financial tables (`$ | 391,035` reads `$391,035`). That is filing domain logic
//! and stays there. What it shares with feedback is the walk over the HTML itself, so it
//! calls [`html_blocks`] with its own [`RowLayout`] instead of walking the tree again:
//! there is one traversal of HTML in the workspace.

mod html;
mod sentences;
mod words;

pub use html::{blocks_to_text, cells_on_one_line, html_blocks, html_to_text, Block, HtmlOptions, RowLayout};
pub use sentences::split_sentences;
pub use words::words;
