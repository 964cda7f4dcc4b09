//! HTML to text: one walk over an HTML5 parse. Hidden content is dropped, block elements
//! break lines, white space collapses as a browser collapses it, `<hr>` and CSS page
//! breaks are page breaks, and table rows are laid out by the caller's [`RowLayout`].

use ego_tree::iter::Edge;
use scraper::node::Element;
use scraper::{Html, Node};

/// A piece of laid-out text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// One line, white space collapsed; never empty.
    Line(String),
    /// An empty line a reader sees (from HTML only with [`HtmlOptions::blank_lines`]).
    Blank,
    /// `<hr>`, or a CSS page break before or after an element.
    PageBreak,
}

/// Lays out one table row: `cells` holds the blocks of each cell, in order; the row's
/// blocks are appended to `out`.
pub type RowLayout = fn(cells: Vec<Vec<Block>>, out: &mut Vec<Block>);

/// What differs between callers of [`html_blocks`].
#[derive(Debug, Clone, Copy)]
pub struct HtmlOptions {
    /// Drops what HTML mail quotes: `<blockquote>` and the quote and signature containers
    /// of common mail clients (`gmail_quote`, `moz-cite-prefix`, ...).
    pub drop_quotes: bool,
    /// Keeps the blank lines a reader sees: after a paragraph, at a `<br>` on an empty
    /// line, and between the lines of `<pre>`.
    pub blank_lines: bool,
    pub row_layout: RowLayout,
}

impl HtmlOptions {
    /// A message (an e-mail body, a chat part): paragraphs apart, rows on one line.
    pub const MESSAGE: Self = Self {
        drop_quotes: false,
        blank_lines: true,
        row_layout: cells_on_one_line,
    };

    /// A document read line by line (no blank lines), rows on one line.
    pub const DOCUMENT: Self = Self {
        drop_quotes: false,
        blank_lines: false,
        row_layout: cells_on_one_line,
    };
}

/// The blocks of an HTML document or fragment.
pub fn html_blocks(html: &str, options: &HtmlOptions) -> Vec<Block> {
    let document = Html::parse_document(html);
    let mut layout = Layout::new(*options);
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => layout.open(node.value()),
            Edge::Close(node) => layout.close(node.value()),
        }
    }
    layout.finish()
}

/// [`html_blocks`] as text ([`blocks_to_text`]).
pub fn html_to_text(html: &str, options: &HtmlOptions) -> String {
    blocks_to_text(&html_blocks(html, options))
}

/// Lines joined by `\n`; a blank line for [`Block::Blank`] and [`Block::PageBreak`], never
/// two in a row and none at either end.
pub fn blocks_to_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut gap = false;
    for block in blocks {
        match block {
            Block::Line(line) => {
                if !out.is_empty() {
                    out.push_str(if gap { "\n\n" } else { "\n" });
                }
                out.push_str(line);
                gap = false;
            }
            Block::Blank | Block::PageBreak => gap = true,
        }
    }
    out
}

/// The default [`RowLayout`]: cells of one line each make one line, joined by a space;
/// a row with a cell of several lines is a layout table, and its cells' blocks follow one
/// another. A page break inside a cell follows the row.
pub fn cells_on_one_line(cells: Vec<Vec<Block>>, out: &mut Vec<Block>) {
    let lines = |cell: &[Block]| cell.iter().filter(|b| matches!(b, Block::Line(_))).count();
    if cells.iter().any(|cell| lines(cell) > 1) {
        for cell in cells {
            out.extend(cell);
        }
        return;
    }
    let joined: Vec<&str> = cells
        .iter()
        .flatten()
        .filter_map(|b| match b {
            Block::Line(line) => Some(line.as_str()),
            _ => None,
        })
        .collect();
    if !joined.is_empty() {
        out.push(Block::Line(joined.join(" ")));
    }
    if cells.iter().flatten().any(|b| *b == Block::PageBreak) {
        out.push(Block::PageBreak);
    }
}

/// Block elements: each starts and ends a line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "html",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "section",
    "ul",
];

/// Never shown: document metadata, scripts, embedded objects, and the inline XBRL header
/// with its hidden facts.
const HIDDEN: &[&str] = &[
    "head",
    "script",
    "style",
    "title",
    "noscript",
    "template",
    "svg",
    "object",
    "iframe",
    "img",
    "ix:header",
    "ix:hidden",
    "ix:references",
    "ix:resources",
];

/// Classes and ids mail clients put on quoted replies and signatures in HTML mail.
const QUOTE_MARKERS: &[&str] = &[
    "gmail_quote",
    "gmail_signature",
    "gmail_extra",
    "moz-cite-prefix",
    "moz-signature",
    "yahoo_quoted",
    "protonmail_quote",
    "protonmail_signature_block",
    "ms-outlook-mobile-signature",
    "apple-mail-signature",
    "zmail_extra",
];

/// Characters that render as nothing (zero-width space, word joiner, BOM, soft hyphen).
/// Zero-width joiners stay: they hold emoji sequences and some scripts together.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{ad}')
}

/// A run of text being laid out: finished blocks plus the line being built.
#[derive(Default)]
struct Flow {
    blocks: Vec<Block>,
    line: String,
    space: bool,
}

impl Flow {
    fn push_text(&mut self, text: &str, pre: bool, blank_lines: bool) {
        for c in text.chars() {
            match c {
                '\n' if pre => {
                    if blank_lines && self.line.is_empty() {
                        self.blocks.push(Block::Blank);
                    }
                    self.break_line();
                }
                c if is_invisible(c) => {}
                c if c.is_whitespace() || c.is_control() => self.space = true,
                c => {
                    if self.space && !self.line.is_empty() {
                        self.line.push(' ');
                    }
                    self.space = false;
                    self.line.push(c);
                }
            }
        }
    }

    fn break_line(&mut self) {
        if !self.line.is_empty() {
            self.blocks.push(Block::Line(std::mem::take(&mut self.line)));
        }
        self.space = false;
    }

    fn page_break(&mut self) {
        self.break_line();
        self.blocks.push(Block::PageBreak);
    }

    fn into_blocks(mut self) -> Vec<Block> {
        self.break_line();
        self.blocks
    }
}

#[derive(Default)]
struct Table {
    blocks: Vec<Block>,
    row: Option<Vec<Vec<Block>>>,
}

impl Table {
    fn flush_row(&mut self, layout: RowLayout) {
        if let Some(cells) = self.row.take() {
            layout(cells, &mut self.blocks);
        }
    }
}

/// Where text goes: a flow of lines, or a table collecting rows of cells (each a flow).
enum Context {
    Flow(Flow),
    Table(Table),
}

/// What opening an element did, undone when it closes.
#[derive(Clone, Copy, PartialEq)]
enum Opened {
    Nothing,
    Hidden,
    Block { paragraph: bool, page_break_after: bool },
    Table,
    Row,
    Cell,
    Pre,
}

struct Layout {
    options: HtmlOptions,
    stack: Vec<Context>,
    opened: Vec<Opened>,
    hidden: usize,
    pre: usize,
}

impl Layout {
    fn new(options: HtmlOptions) -> Self {
        Self {
            options,
            stack: vec![Context::Flow(Flow::default())],
            opened: Vec::new(),
            hidden: 0,
            pre: 0,
        }
    }

    fn flow(&mut self) -> Option<&mut Flow> {
        match self.stack.last_mut() {
            Some(Context::Flow(f)) => Some(f),
            _ => None,
        }
    }

    fn open(&mut self, node: &Node) {
        match node {
            Node::Text(t) if self.hidden == 0 => {
                let (pre, blank_lines) = (self.pre > 0, self.options.blank_lines);
                if let Some(f) = self.flow() {
                    f.push_text(t, pre, blank_lines);
                }
            }
            Node::Element(el) => {
                let opened = if self.hidden > 0 {
                    Opened::Nothing
                } else {
                    self.open_element(el)
                };
                self.opened.push(opened);
            }
            _ => {}
        }
    }

    fn is_hidden(&self, el: &Element, style: &str) -> bool {
        let name = el.name();
        if HIDDEN.contains(&name) || style.contains("display:none") {
            return true;
        }
        if !self.options.drop_quotes {
            return false;
        }
        let marked = |value: &str| QUOTE_MARKERS.iter().any(|marker| value.eq_ignore_ascii_case(marker));
        name == "blockquote" || el.classes().any(marked) || el.id().is_some_and(marked)
    }

    fn open_element(&mut self, el: &Element) -> Opened {
        let name = el.name();
        let style = el
            .attr("style")
            .map(|s| s.replace(char::is_whitespace, "").to_ascii_lowercase())
            .unwrap_or_default();
        if self.is_hidden(el, &style) {
            self.hidden += 1;
            return Opened::Hidden;
        }
        let in_table = matches!(self.stack.last(), Some(Context::Table(_)));
        if style.contains("page-break-before:always") || style.contains("break-before:page") {
            if let Some(f) = self.flow() {
                f.page_break();
            }
        }
        let page_break_after = style.contains("page-break-after:always") || style.contains("break-after:page");
        match name {
            "table" => {
                if let Some(f) = self.flow() {
                    f.break_line();
                }
                self.stack.push(Context::Table(Table::default()));
                Opened::Table
            }
            "tr" if in_table => {
                let layout = self.options.row_layout;
                if let Some(Context::Table(t)) = self.stack.last_mut() {
                    t.flush_row(layout);
                    t.row = Some(Vec::new());
                }
                Opened::Row
            }
            "td" | "th" if in_table => {
                self.stack.push(Context::Flow(Flow::default()));
                Opened::Cell
            }
            "br" => {
                let blank_lines = self.options.blank_lines;
                if let Some(f) = self.flow() {
                    if blank_lines && f.line.is_empty() {
                        f.blocks.push(Block::Blank);
                    }
                    f.break_line();
                }
                Opened::Nothing
            }
            "hr" => {
                if let Some(f) = self.flow() {
                    f.page_break();
                }
                Opened::Nothing
            }
            "pre" => {
                if let Some(f) = self.flow() {
                    f.break_line();
                }
                self.pre += 1;
                Opened::Pre
            }
            _ if BLOCKS.contains(&name) || page_break_after => {
                if let Some(f) = self.flow() {
                    f.break_line();
                }
                Opened::Block {
                    paragraph: name == "p",
                    page_break_after,
                }
            }
            _ => Opened::Nothing,
        }
    }

    fn close(&mut self, node: &Node) {
        if !matches!(node, Node::Element(_)) {
            return;
        }
        match self.opened.pop().unwrap_or(Opened::Nothing) {
            Opened::Nothing => {}
            Opened::Hidden => self.hidden = self.hidden.saturating_sub(1),
            Opened::Block {
                paragraph,
                page_break_after,
            } => {
                let blank_lines = self.options.blank_lines;
                if let Some(f) = self.flow() {
                    if page_break_after {
                        f.page_break();
                    } else {
                        f.break_line();
                    }
                    if paragraph && blank_lines {
                        f.blocks.push(Block::Blank);
                    }
                }
            }
            Opened::Pre => {
                self.pre = self.pre.saturating_sub(1);
                if let Some(f) = self.flow() {
                    f.break_line();
                }
            }
            Opened::Row => {
                let layout = self.options.row_layout;
                if let Some(Context::Table(t)) = self.stack.last_mut() {
                    t.flush_row(layout);
                }
            }
            Opened::Cell => self.close_cell(),
            Opened::Table => self.close_table(),
        }
    }

    fn close_cell(&mut self) {
        if self.stack.len() < 2 {
            return;
        }
        let Some(Context::Flow(cell)) = self.stack.pop() else {
            return;
        };
        let blocks = cell.into_blocks();
        match self.stack.last_mut() {
            Some(Context::Table(t)) => t.row.get_or_insert_with(Vec::new).push(blocks),
            Some(Context::Flow(f)) => {
                f.break_line();
                f.blocks.extend(blocks);
            }
            None => {}
        }
    }

    fn close_table(&mut self) {
        if self.stack.len() < 2 {
            return;
        }
        let Some(Context::Table(mut table)) = self.stack.pop() else {
            return;
        };
        table.flush_row(self.options.row_layout);
        match self.stack.last_mut() {
            Some(Context::Flow(f)) => {
                f.break_line();
                f.blocks.extend(table.blocks);
            }
            Some(Context::Table(t)) => t.row.get_or_insert_with(Vec::new).push(table.blocks),
            None => {}
        }
    }

    fn finish(mut self) -> Vec<Block> {
        while self.stack.len() > 1 {
            match self.stack.last() {
                Some(Context::Table(_)) => self.close_table(),
                _ => self.close_cell(),
            }
        }
        match self.stack.pop() {
            Some(Context::Flow(f)) => f.into_blocks(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(html: &str) -> String {
        html_to_text(html, &HtmlOptions::DOCUMENT)
    }

    fn message(html: &str) -> String {
        html_to_text(html, &HtmlOptions::MESSAGE)
    }

    #[test]
    fn html_becomes_readable_text() {
        let html = "<p>Hi&nbsp;there,</p><p>the <b>export</b>\n   fails<br>every time.</p><script>x()</script>";
        assert_eq!(message(html), "Hi there,\n\nthe export fails\nevery time.");
    }

    #[test]
    fn quotes_are_dropped_from_html_mail_only_when_asked() {
        let html = r#"<div>New text</div><div class="gmail_quote">On Mon wrote:<blockquote>old</blockquote></div>"#;
        let dropping = HtmlOptions {
            drop_quotes: true,
            ..HtmlOptions::MESSAGE
        };
        assert_eq!(html_to_text(html, &dropping), "New text");
        assert!(message(html).contains("old"));
        let signed = r#"<p>Body</p><div id="Signature">x</div><div class="moz-signature">Jane</div>"#;
        assert_eq!(html_to_text(signed, &dropping), "Body\n\nx");
    }

    #[test]
    fn blocks_become_lines_and_spans_join() {
        let html = "<html><body><div><span>Item</span><span>&#160;1A.</span> <b>Risk</b> Factors</div><p>Body text.</p></body></html>";
        assert_eq!(document(html), "Item 1A. Risk Factors\nBody text.");
        assert_eq!(message("<ul><li>one</li><li>two</li></ul>"), "one\ntwo");
    }

    #[test]
    fn hidden_content_is_dropped() {
        let html = "<html><head><title>x</title><style>p{}</style></head><body><div style=\"display: none\">preheader\
                    </div><ix:header><ix:hidden>secret</ix:hidden></ix:header><svg><text>chart</text></svg>\
                    <p>Shown\u{200b}text</p><noscript>js</noscript></body></html>";
        assert_eq!(document(html), "Showntext");
    }

    #[test]
    fn blank_lines_a_reader_sees_are_kept_for_messages_only() {
        let html = "<div>Hello</div><div><br></div><div>World<br><br>again</div><pre>a\n  b\n\nc</pre>";
        assert_eq!(message(html), "Hello\n\nWorld\n\nagain\na\nb\n\nc");
        assert_eq!(document(html), "Hello\nWorld\nagain\na\nb\nc");
    }

    #[test]
    fn rows_are_laid_out_by_the_caller() {
        let html = "<table><tr><th>Name</th><th>Value</th></tr><tr><td>Revenue</td><td>$5</td></tr></table>\
                    <table><tr><td><p>Layout one.</p><p>Layout two.</p></td><td>side</td></tr></table>";
        assert_eq!(
            message(html),
            "Name Value\nRevenue $5\nLayout one.\n\nLayout two.\n\nside"
        );
        fn piped(cells: Vec<Vec<Block>>, out: &mut Vec<Block>) {
            let texts: Vec<String> = cells.iter().map(|c| blocks_to_text(c)).collect();
            out.push(Block::Line(texts.join(" | ")));
        }
        let options = HtmlOptions {
            row_layout: piped,
            ..HtmlOptions::DOCUMENT
        };
        assert_eq!(
            html_to_text("<table><tr><td>a</td><td>b</td></tr></table>", &options),
            "a | b"
        );
    }

    #[test]
    fn page_breaks_come_from_rules_and_styles() {
        let html = "<p>one</p><hr><p style=\"page-break-after: always\">two</p><p>three</p>";
        assert_eq!(
            html_blocks(html, &HtmlOptions::DOCUMENT),
            [
                Block::Line("one".into()),
                Block::PageBreak,
                Block::Line("two".into()),
                Block::PageBreak,
                Block::Line("three".into())
            ]
        );
    }
}
