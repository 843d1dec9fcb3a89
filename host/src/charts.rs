//! Small charts as PNG images, for e-mails (the morning digest) and reports that mail
//! clients and PDF readers show without scripts or SVG support.
//!
//! A horizontal bar chart is drawn into an RGB pixel buffer and encoded by the `png` crate.
//! Labels and values are drawn with a built-in 3×5 pixel font of digits and a few signs
//! (`0-9 - + . , % <`, space); any other character is left out of the picture, so callers put
//! words (Cyrillic captions) in the text beside the image — an HTML table, the alt text.

/// One bar: a short label on the left, the bar, and its value as text on the right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// Drawn left of the bar (digits and signs only, e.g. `1-30`, `91+`).
    pub label: String,
    /// The bar's length relative to the longest bar; negative values draw as zero.
    pub value: i64,
    /// Drawn right of the bar, e.g. `1 250 000`.
    pub text: String,
    /// The bar's colour, RGB.
    pub color: [u8; 3],
}

/// Green for what is not due yet, red for what is overdue.
pub const GREEN: [u8; 3] = [0x2e, 0x7d, 0x32];
pub const RED: [u8; 3] = [0xc6, 0x28, 0x28];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];
const INK: [u8; 3] = [0x33, 0x33, 0x33];
const RULE: [u8; 3] = [0xbb, 0xbb, 0xbb];

/// Pixel size of one font cell.
const SCALE: u32 = 2;
/// Horizontal advance of one character.
const ADVANCE: u32 = 4 * SCALE;
const ROW: u32 = 28;
const BAR_HEIGHT: u32 = 18;
const PAD: u32 = 8;

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("a chart needs between 1 and 50 bars, got {0}")]
    Bars(usize),
    #[error("the chart could not be encoded as PNG: {0}")]
    Encode(#[from] png::EncodingError),
}

/// A 3×5 glyph: five rows of three bits, the high bit on the left.
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '-' | '−' => [0b000, 0b000, 0b111, 0b000, 0b000],
        '+' => [0b000, 0b010, 0b111, 0b010, 0b000],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        ',' => [0b000, 0b000, 0b000, 0b010, 0b100],
        '%' => [0b101, 0b001, 0b010, 0b100, 0b101],
        '<' => [0b001, 0b010, 0b100, 0b010, 0b001],
        ' ' | '\u{a0}' | '\u{202f}' => [0; 5],
        _ => return None,
    })
}

/// An RGB canvas.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        let pixels = WHITE.iter().copied().cycle().take((width * height * 3) as usize).collect();
        Canvas { width, height, pixels }
    }

    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                let i = ((yy * self.width + xx) * 3) as usize;
                self.pixels[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    /// Draws the drawable characters of `text` from `(x, y)` (top left); returns the width used.
    fn text(&mut self, x: u32, y: u32, text: &str, color: [u8; 3]) -> u32 {
        let mut at = x;
        for c in text.chars() {
            let Some(rows) = glyph(c) else { continue };
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3u32 {
                    if bits & (0b100 >> col) != 0 {
                        self.rect(at + col * SCALE, y + u32::try_from(r).unwrap_or(0) * SCALE, SCALE, SCALE, color);
                    }
                }
            }
            at += ADVANCE;
        }
        at - x
    }
}

/// How wide `text` is when drawn.
fn text_width(text: &str) -> u32 {
    u32::try_from(text.chars().filter(|c| glyph(*c).is_some()).count()).unwrap_or(0) * ADVANCE
}

/// A horizontal bar chart `width` pixels wide (at least 200), one row per bar, as PNG bytes.
pub fn bar_chart_png(bars: &[Bar], width: u32) -> Result<Vec<u8>, ChartError> {
    if bars.is_empty() || bars.len() > 50 {
        return Err(ChartError::Bars(bars.len()));
    }
    let width = width.max(200);
    let rows = u32::try_from(bars.len()).unwrap_or(50);
    let height = rows * ROW + 2 * PAD;
    let label_w = bars.iter().map(|b| text_width(&b.label)).max().unwrap_or(0);
    let text_w = bars.iter().map(|b| text_width(&b.text)).max().unwrap_or(0);
    let left = PAD + label_w + PAD;
    let span = width.saturating_sub(left + PAD + text_w + PAD).max(20);
    let max = bars.iter().map(|b| b.value.max(0)).max().unwrap_or(0).max(1);
    let mut canvas = Canvas::new(width, height);
    canvas.rect(left - 1, PAD / 2, 1, height - PAD, RULE);
    for (i, b) in bars.iter().enumerate() {
        let top = PAD + u32::try_from(i).unwrap_or(0) * ROW;
        let text_top = top + (BAR_HEIGHT - 5 * SCALE) / 2;
        canvas.text(PAD + label_w - text_width(&b.label), text_top, &b.label, INK);
        let len = u32::try_from(i128::from(b.value.max(0)) * i128::from(span) / i128::from(max)).unwrap_or(span);
        let len = if b.value > 0 { len.max(2) } else { 0 };
        canvas.rect(left, top, len, BAR_HEIGHT, b.color);
        canvas.text(left + len + PAD, text_top, &b.text, INK);
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&canvas.pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_chart_is_a_png_of_the_asked_width() {
        let bars = vec![
            Bar { label: "0".into(), value: 150_000, text: "150 000".into(), color: GREEN },
            Bar { label: "91+".into(), value: 0, text: "0".into(), color: RED },
        ];
        let bytes = bar_chart_png(&bars, 400).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (400, 2 * ROW + 2 * PAD));
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        // The first bar is drawn in green somewhere on its row.
        assert!(buf.chunks(3).any(|p| p == GREEN));
        assert!(bar_chart_png(&[], 400).is_err());
    }
}
