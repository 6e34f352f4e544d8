//! A resource's body: Markdown (CommonMark, with tables and strikethrough) to HTML that is safe to
//! put in a page as it is.
//!
//! `pulldown-cmark` parses; this module walks its events before they are written out and keeps
//! only what cannot run:
//!
//! - **Raw HTML is stripped.** HTML blocks and inline tags (`<script>`, `<img onerror=…>`,
//!   `<a href="javascript:…">`, comments) are left out; the text around an inline tag stays. Every
//!   other character of the source reaches the page escaped by the HTML writer, so the only tags
//!   in the output are those Markdown itself makes (`p`, `a`, `img`, `em`, `code`, `table`, …),
//!   and their only attributes are `href`, `src`, `alt` and `title`, plus `start` on ordered lists
//!   and `style="text-align: …"` on table cells.
//! - **Links and images go only to `http:`, `https:`, `mailto:` or a relative address.** The
//!   text before a destination's first `:` (entities already decoded by the parser) must be one of
//!   those schemes, in any case, or hold a `/`, `?` or `#` (then the `:` is part of a relative
//!   path, query or fragment). Anything else is refused: `javascript:`, `data:`, `vbscript:`,
//!   `file:`, and every spelling a browser might still read as a scheme (`JaVa&#9;Script:`, a
//!   leading space or control character, `java%73cript:`). Such a link becomes its text alone;
//!   such an image becomes its alt text.
//!
//! The stored Markdown is the only truth: the HTML is made from it on each read of one resource
//! ([`to_html`] is cheap, a few microseconds per kilobyte), so a fix here covers every resource at
//! once and no stale HTML is ever served. Lists carry no body.

use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// The HTML of a Markdown body, with raw HTML and unsafe link targets removed (module docs).
pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut out, Sanitized { inner: parser, dropped: Vec::new(), in_html_block: false });
    out
}

/// The parser's events without raw HTML and without links or images to unsafe destinations.
struct Sanitized<'a, I: Iterator<Item = Event<'a>>> {
    inner: I,
    /// For each link or image open now: whether its start was dropped (so is its end).
    dropped: Vec<bool>,
    in_html_block: bool,
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Sanitized<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let event = self.inner.next()?;
            match event {
                Event::Start(Tag::HtmlBlock) => self.in_html_block = true,
                Event::End(TagEnd::HtmlBlock) => self.in_html_block = false,
                Event::Html(_) | Event::InlineHtml(_) => {}
                // Only raw HTML lives in an HTML block; nothing of it is kept.
                _ if self.in_html_block => {}
                Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                    // An email autolink's destination is an address; the writer adds `mailto:`.
                    let safe = link_type == LinkType::Email || is_safe_url(&dest_url);
                    self.dropped.push(!safe);
                    if safe {
                        return Some(Event::Start(Tag::Link { link_type, dest_url, title, id }));
                    }
                }
                Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                    let safe = is_safe_url(&dest_url);
                    self.dropped.push(!safe);
                    if safe {
                        return Some(Event::Start(Tag::Image { link_type, dest_url, title, id }));
                    }
                }
                Event::End(end @ (TagEnd::Link | TagEnd::Image)) => {
                    if !self.dropped.pop().unwrap_or(false) {
                        return Some(Event::End(end));
                    }
                }
                other => return Some(other),
            }
        }
    }
}

/// The schemes a link or image may use; a destination without a scheme is relative (to the page,
/// the site, or `//host/…`, which takes the page's own scheme).
const SAFE_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Whether a browser following `url` could only fetch or open a page (module docs).
pub fn is_safe_url(url: &CowStr<'_>) -> bool {
    match scheme_of(url) {
        None => true,
        Some(scheme) => SAFE_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)),
    }
}

/// What stands where a URL's scheme would: the text before its first `:`, unless that text holds
/// a `/`, `?` or `#` (a relative reference whose path, query or fragment has a `:`). `None` for a
/// relative reference. Deliberately not RFC 3986's grammar of a scheme: whatever a browser might
/// make of the text (after dropping tabs, newlines or leading controls), it is a scheme here, and
/// only the safe ones pass.
fn scheme_of(url: &str) -> Option<&str> {
    let candidate = &url[..url.find(':')?];
    if candidate.contains(['/', '?', '#']) {
        None
    } else {
        Some(candidate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(url: &str) -> bool {
        is_safe_url(&CowStr::from(url))
    }

    #[test]
    fn web_mail_and_relative_addresses_are_kept() {
        for url in [
            "https://example.org/a?b=c#d",
            "HTTP://EXAMPLE.ORG",
            "mailto:hola@tacos.example",
            "/resources/1",
            "page.html",
            "../up",
            "?q=x",
            "#part",
            "//cdn.example.org/x.png",
            "a/b:c",
            "",
        ] {
            assert!(safe(url), "{url:?}");
        }
    }

    #[test]
    fn every_other_scheme_is_refused_however_it_is_spelled() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{1}javascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "blob:https://example.org/x",
            "jav%61script:alert(1)",
            // Refused though a browser might read it as https: nothing is lost but a typo's link.
            "ht\ttps://example.org",
        ] {
            assert!(!safe(url), "{url:?}");
        }
    }

    #[test]
    fn markdown_becomes_html() {
        let html = to_html("# Grow\n\nSell **more** with [ads](https://ads.example/x \"Ads\").\n\n- one\n- two\n");
        assert_eq!(
            html,
            "<h1>Grow</h1>\n<p>Sell <strong>more</strong> with <a href=\"https://ads.example/x\" title=\"Ads\">ads</a>.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
    }

    #[test]
    fn raw_html_is_stripped_and_the_text_around_it_stays() {
        assert_eq!(to_html("a <b onclick=\"x()\">bold</b> word"), "<p>a bold word</p>\n");
        assert_eq!(to_html("<script>alert(1)</script>\n\nafter"), "<p>after</p>\n");
        assert_eq!(to_html("<div onmouseover=\"x()\">\n*hi*\n</div>\n\nend"), "<p>end</p>\n");
        assert_eq!(to_html("x <!-- hidden --> y"), "<p>x  y</p>\n");
    }

    #[test]
    fn unsafe_links_keep_their_text_and_unsafe_images_their_alt_text() {
        assert_eq!(to_html("[click](javascript:alert(1))"), "<p>click</p>\n");
        assert_eq!(to_html("![cat](data:image/svg+xml,<svg/onload=alert(1)>)"), "<p>cat</p>\n");
        assert_eq!(to_html("<javascript:alert(1)>"), "<p>javascript:alert(1)</p>\n");
        assert_eq!(to_html("[x](java&#9;script:alert(1))"), "<p>x</p>\n");
        assert_eq!(to_html("[x][r]\n\n[r]: vbscript:msgbox"), "<p>x</p>\n");
        // A safe image inside an unsafe link: the image stays, the link goes.
        assert_eq!(
            to_html("[![logo](https://x.example/l.png)](javascript:x)"),
            "<p><img src=\"https://x.example/l.png\" alt=\"logo\" /></p>\n"
        );
        assert_eq!(
            to_html("<hola@tacos.example>"),
            "<p><a href=\"mailto:hola@tacos.example\">hola@tacos.example</a></p>\n"
        );
    }
}
