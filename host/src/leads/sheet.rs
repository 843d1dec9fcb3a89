//! Reading a lead spreadsheet (XLSX or CSV, one template) into rows of cells under
//! named columns. The header is the row that names the ИНН column (a title above it is
//! skipped); header cells merged across rows or columns are read from the merged
//! region, so a two-row header ("Контакт" over "Телефон" and "E-mail") names each
//! column by its lowest label. Row numbers are the spreadsheet's own (1-based), so a
//! report can point at the row a person sees.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;

/// One cell, as the import reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    /// A number as the spreadsheet stored it (an ИНН typed into a number cell is one,
    /// and has lost its leading zero).
    Number(f64),
    /// A date cell (an Excel serial formatted as a date).
    Date(NaiveDate),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// The rows of the first sheet under its header.
#[derive(Debug)]
pub struct Table {
    /// Column labels as written in the header (normalised: trimmed, single spaces).
    pub headers: Vec<String>,
    /// `(row number, cells)` for every non-empty row below the header.
    pub rows: Vec<(u32, Vec<Cell>)>,
}

/// Why a file cannot be read as a lead spreadsheet.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("Файл не читается как таблица XLSX: {0}. Сохраните его в Excel как «Книга Excel (*.xlsx)» или как CSV.")]
    Xlsx(String),
    #[error("Файл не читается как CSV: {0}.")]
    Csv(String),
    #[error("В файле нет листов с данными.")]
    NoSheet,
    #[error("Не найдена строка заголовка со столбцом «ИНН» в первых {0} строках. Возьмите шаблон импорта из документации.")]
    NoHeader(usize),
}

/// How far down the header is looked for.
const HEADER_SEARCH_ROWS: usize = 20;

/// Whether `label` names the ИНН column.
fn is_inn_label(label: &str) -> bool {
    normalize(label).to_lowercase() == "инн"
}

/// Trimmed, with runs of whitespace (including line breaks in a header cell) as one space.
pub fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads `bytes` as XLSX when it is a zip archive, else as CSV.
pub fn read(bytes: &[u8]) -> Result<Table, SheetError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else {
        read_csv(bytes)
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, SheetError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let name = book.sheet_names().into_iter().next().ok_or(SheetError::NoSheet)?;
    let range = book.worksheet_range(&name).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let merged = book.merge_cells_by_sheet_name(&name).unwrap_or_default();
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let grid: Vec<Vec<Cell>> = range.rows().map(|r| r.iter().map(cell_of).collect()).collect();
    // A merged region's value sits in its top-left cell: spread it over the region.
    let mut grid = grid;
    for m in &merged {
        let (r0, c0) = (m.start.0.saturating_sub(row0) as usize, m.start.1.saturating_sub(col0) as usize);
        let value = grid.get(r0).and_then(|r| r.get(c0)).cloned().unwrap_or(Cell::Empty);
        if value.is_empty() {
            continue;
        }
        for r in m.start.0..=m.end.0 {
            for c in m.start.1..=m.end.1 {
                let (r, c) = (r.saturating_sub(row0) as usize, c.saturating_sub(col0) as usize);
                // Spread only over the header area: data cells under a merged label stay as they are.
                if r < HEADER_SEARCH_ROWS + 2 && let Some(cell) = grid.get_mut(r).and_then(|row| row.get_mut(c)) && cell.is_empty() {
                    *cell = value.clone();
                }
            }
        }
    }
    let merged_rows: Vec<(usize, usize)> = merged
        .iter()
        .map(|m| (m.start.0.saturating_sub(row0) as usize, m.end.0.saturating_sub(row0) as usize))
        .collect();
    let numbered = grid.into_iter().enumerate().map(|(i, r)| (row0 + 1 + i as u32, r)).collect();
    tabulate(numbered, &merged_rows)
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Text(if *b { "да" } else { "нет" }.into()),
        Data::DateTime(dt) => serial_date(dt.as_f64()).map(Cell::Date).unwrap_or(Cell::Number(dt.as_f64())),
        Data::DateTimeIso(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").map(Cell::Date).unwrap_or_else(|_| Cell::Text(s.clone())),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}

/// The day of an Excel serial (days since 1899-12-30, as Excel counts after February 1900).
pub fn serial_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(serial.trunc() as u64))
}

fn read_csv(bytes: &[u8]) -> Result<Table, SheetError> {
    // Excel in Russia saves CSV in Windows-1251 with `;`; a UTF-8 file may start with a BOM.
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0.into_owned(),
    };
    // The delimiter most used in the first lines (a title line may have none); `;` on a tie.
    let head: Vec<&str> = text.lines().take(HEADER_SEARCH_ROWS).collect();
    let delimiter = [(b'\t', 0), (b',', 1), (b';', 2)]
        .into_iter()
        .max_by_key(|(d, rank)| (head.iter().map(|l| l.bytes().filter(|b| b == d).count()).sum::<usize>(), *rank))
        .map_or(b';', |(d, _)| d);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut grid = Vec::new();
    let bytes = text.as_bytes();
    // Lines counted up to `seen`: a record's row is the line its first field is on, blank
    // lines before it counted, as a spreadsheet program numbers them.
    let (mut seen, mut line) = (0usize, 1u32);
    for record in reader.records() {
        let record = record.map_err(|e| SheetError::Csv(e.to_string()))?;
        let mut start = record.position().map_or(seen, |p| p.byte() as usize).max(seen);
        while matches!(bytes.get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        line += bytes[seen..start.min(bytes.len())].iter().filter(|b| **b == b'\n').count() as u32;
        seen = start.min(bytes.len());
        grid.push((line, record.iter().map(|s| if s.trim().is_empty() { Cell::Empty } else { Cell::Text(s.to_owned()) }).collect()));
    }
    tabulate(grid, &[])
}

/// Finds the header in `grid` (rows with their spreadsheet row numbers) and returns the
/// rows below it. `merged_rows` are the (first, last) grid rows of merged regions: a
/// header merged down over two rows makes both rows header rows.
fn tabulate(numbered: Vec<(u32, Vec<Cell>)>, merged_rows: &[(usize, usize)]) -> Result<Table, SheetError> {
    let (numbers, grid): (Vec<u32>, Vec<Vec<Cell>>) = numbered.into_iter().unzip();
    let text = |c: &Cell| match c {
        Cell::Text(s) => normalize(s),
        _ => String::new(),
    };
    let header = grid
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|r| r.iter().any(|c| is_inn_label(&text(c))))
        .ok_or(SheetError::NoHeader(HEADER_SEARCH_ROWS))?;
    // The header ends at the last row a region merged down from the header row reaches.
    let last = merged_rows.iter().filter(|(s, _)| *s == header).map(|(_, e)| *e).max().unwrap_or(header).max(header);
    let width = grid.iter().map(Vec::len).max().unwrap_or(0);
    let headers = (0..width)
        // The lowest label in the header rows names the column.
        .map(|j| (header..=last).rev().map(|r| grid.get(r).and_then(|row| row.get(j)).map(text).unwrap_or_default()).find(|s| !s.is_empty()).unwrap_or_default())
        .collect();
    let rows = grid
        .into_iter()
        .enumerate()
        .skip(last + 1)
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
        .map(|(i, r)| (numbers[i], r))
        .collect();
    Ok(Table { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_in_windows_1251_with_semicolons_is_read_under_its_header() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Список клиентов\nИНН;Наименование;Статус\n7707083893;ПАО Сбербанк;Готов\n\n500100732259;ИП Иванов;Новый\n");
        let t = read(&bytes).unwrap();
        assert_eq!(t.headers, ["ИНН", "Наименование", "Статус"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].0, 3);
        assert_eq!(t.rows[1].0, 5);
        assert_eq!(t.rows[1].1[1], Cell::Text("ИП Иванов".into()));
    }

    #[test]
    fn a_file_without_an_inn_column_is_refused_saying_what_is_missing() {
        let e = read("Название;Статус\nООО Ромашка;Готов\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("«ИНН»"), "{e}");
    }
}
