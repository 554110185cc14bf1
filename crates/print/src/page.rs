//! A page being drawn: text in the standard Helvetica fonts (measured with their published widths,
//! so text can be wrapped and fitted), rules and boxes. Coordinates are millimetres from the bottom
//! left, as PDF has them.

use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rgb,
    TextItem, TextMatrix,
};

/// Whether a document is printed from the real records or in a drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Real,
    /// Printed in a drill: every page says so across its middle and along its top and bottom edges,
    /// so that no drill paper is ever taken for a real record or typed into the PMS.
    Drill,
}

impl Mark {
    /// How documents printed from `store` are marked: a drill's copy prints DRILL.
    pub fn of(store: &lifeboat_core::Store) -> Mark {
        if store.drill().is_some() {
            Mark::Drill
        } else {
            Mark::Real
        }
    }
}

/// The words a drill's pages carry.
pub const DRILL_WORDS: &str = "DRILL - practice only - not a real record";

/// Saves `pages` as one PDF titled `title`, marked as `mark` says.
pub(crate) fn save(title: &str, mut pages: Vec<PdfPage>, mark: Mark) -> Vec<u8> {
    let title = match mark {
        Mark::Real => title.to_string(),
        Mark::Drill => {
            pages.iter_mut().for_each(stamp_drill);
            format!("DRILL - {title}")
        }
    };
    let mut warnings = Vec::new();
    PdfDocument::new(&title).with_pages(pages).save(&PdfSaveOptions::default(), &mut warnings)
}

/// A large pale DRILL drawn beneath the page's content, and the drill's words in red at its top and
/// bottom edges, over it (sized to fit a label as well as an A4 page).
fn stamp_drill(page: &mut PdfPage) {
    let w = page.media_box.width.0 / PT_PER_MM;
    let h = page.media_box.height.0 / PT_PER_MM;
    let fill = |r: f32, g: f32, b: f32| Op::SetFillColor { col: Color::Rgb(Rgb { r, g, b, icc_profile: None }) };
    let text = |x: f32, y: f32, size: f32, angle: f32, words: &str| {
        [
            Op::StartTextSection,
            Op::SetFont { font: PdfFontHandle::Builtin(BuiltinFont::HelveticaBold), size: Pt(size) },
            Op::SetTextMatrix { matrix: TextMatrix::TranslateRotate(Mm(x).into(), Mm(y).into(), angle) },
            Op::ShowText { items: vec![TextItem::Text(words.to_string())] },
            Op::EndTextSection,
        ]
    };
    // The big word, across the middle at the page's diagonal, in a pale red the content shows through.
    let angle = h.atan2(w).to_degrees();
    let diagonal = (w * w + h * h).sqrt();
    let big = (diagonal * 0.6 / width("DRILL", 1.0, true)).min(160.0);
    let along = width("DRILL", big, true);
    let (dx, dy) = (angle.to_radians().cos(), angle.to_radians().sin());
    let (x0, y0) = (w / 2.0 - dx * along / 2.0 + dy * big * 0.12, h / 2.0 - dy * along / 2.0 - dx * big * 0.12);
    let mut under = vec![Op::SaveGraphicsState, fill(1.0, 0.86, 0.86)];
    under.extend(text(x0, y0, big, angle, "DRILL"));
    under.push(Op::RestoreGraphicsState);
    page.ops.splice(0..0, under);
    // The words, top and bottom.
    // Small on a label (whose layout keeps 2.6 mm clear for them), larger on a sheet.
    let most = if h < 100.0 { 6.0 } else { 9.0 };
    let size = ((w - 4.0) / width(DRILL_WORDS, 1.0, true)).min(most);
    let x = (w - width(DRILL_WORDS, size, true)) / 2.0;
    let cap = size / PT_PER_MM * 0.72;
    page.ops.extend([Op::SaveGraphicsState, fill(0.75, 0.0, 0.0)]);
    page.ops.extend(text(x, h - cap - 0.8, size, 0.0, DRILL_WORDS));
    page.ops.extend(text(x, 0.9, size, 0.0, DRILL_WORDS));
    page.ops.push(Op::RestoreGraphicsState);
}

pub struct Page {
    pub width: f32,
    pub height: f32,
    ops: Vec<Op>,
}

/// Advance widths of Helvetica and Helvetica-Bold for ASCII 32..=126, in thousandths of the font size
/// (Adobe's Core 14 metrics). Other characters count as 556.
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
    556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
    260, 334, 584,
];
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833,
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611,
    556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389,
    280, 389, 584,
];

const PT_PER_MM: f32 = 72.0 / 25.4;

/// The width of `text` in millimetres at `size` points.
pub fn width(text: &str, size: f32, bold: bool) -> f32 {
    let table = if bold { &BOLD } else { &REGULAR };
    let units: u32 = printable(text)
        .chars()
        .map(|c| match c as u32 {
            32..=126 => table[(c as u32 - 32) as usize] as u32,
            _ => 556,
        })
        .sum();
    units as f32 / 1000.0 * size / PT_PER_MM
}

/// Breaks `text` into lines no wider than `max` mm, at spaces where it can (a word longer than the
/// line is broken where it must be). Line breaks in the text are kept.
pub fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if width(&candidate, size, bold) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line on its own is broken into pieces that fit.
            let mut piece = String::new();
            for c in word.chars() {
                let longer = format!("{piece}{c}");
                if width(&longer, size, bold) > max && !piece.is_empty() {
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                } else {
                    piece = longer;
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

/// The standard PDF fonts cover WinAnsi only; dashes and quotes are mapped, anything else outside
/// Latin-1 becomes '?'.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{2013}' | '\u{2014}' => '-',
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{00d7}' => 'x',
            c if c.is_control() => ' ',
            c if (c as u32) < 0x100 => c,
            _ => '?',
        })
        .collect()
}

impl Page {
    pub fn new(width: f32, height: f32) -> Page {
        Page { width, height, ops: Vec::new() }
    }

    pub fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let font = if bold { BuiltinFont::HelveticaBold } else { BuiltinFont::Helvetica };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetTextCursor { pos: Point::new(Mm(x), Mm(y)) },
            Op::SetFont { font: PdfFontHandle::Builtin(font), size: Pt(size) },
            Op::ShowText { items: vec![TextItem::Text(printable(text))] },
            Op::EndTextSection,
        ]);
    }

    /// Grey text (`dim`) or black.
    pub fn shade(&mut self, dim: bool) {
        let v = if dim { 0.55 } else { 0.0 };
        self.ops.push(Op::SetFillColor { col: Color::Rgb(Rgb { r: v, g: v, b: v, icc_profile: None }) });
    }

    /// A thin grey horizontal rule from `x1` to `x2` at `y`.
    pub fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.line(&[(x1, y), (x2, y)], 0.4, 0.8);
    }

    /// An empty box (a tick box), `x`, `y` its bottom left corner.
    pub fn tick_box(&mut self, x: f32, y: f32, size: f32) {
        self.line(&[(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)], 0.8, 0.0);
    }

    fn line(&mut self, points: &[(f32, f32)], thickness: f32, grey: f32) {
        self.ops.push(Op::SetOutlineColor { col: Color::Rgb(Rgb { r: grey, g: grey, b: grey, icc_profile: None }) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        let points = points.iter().map(|&(x, y)| LinePoint { p: Point::new(Mm(x), Mm(y)), bezier: false }).collect();
        self.ops.push(Op::DrawLine { line: Line { points, is_closed: false } });
    }

    pub fn finish(self) -> PdfPage {
        PdfPage::new(Mm(self.width), Mm(self.height), self.ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_measured_and_wrapped_within_the_width() {
        // "Give" in 10 pt Helvetica: G 778 + i 222 + v 500 + e 556 = 2056 units = 20.56 pt = 7.25 mm.
        assert!((width("Give", 10.0, false) - 7.253).abs() < 0.01, "{}", width("Give", 10.0, false));
        assert!(width("Give", 10.0, true) > width("Give", 10.0, false));
        let text = "Give 0.8 ml by mouth once daily with food for 7 days";
        let lines = wrap(text, 8.0, false, 40.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, 8.0, false) <= 40.0), "{lines:?}");
        assert_eq!(lines.join(" "), text, "nothing is lost");
        let long = wrap("Supercalifragilisticexpialidocious", 12.0, true, 20.0);
        assert!(long.len() > 1 && long.concat() == "Supercalifragilisticexpialidocious", "{long:?}");
    }
}
