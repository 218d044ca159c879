//! Just enough TIFF (classic and BigTIFF, either byte order) to find where every IFD, tag entry,
//! value and pixel chunk of a seed lies, so the mutator can change them in place. Read-only and
//! tolerant: whatever does not parse is left out, cycles and endless chains are cut.

/// One tag entry of an IFD.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Byte position of the entry (its tag number).
    pub at: usize,
    pub tag: u16,
    pub typ: u16,
    pub count: u64,
    /// Position of the count field and of the value-or-offset field.
    pub count_at: usize,
    pub field_at: usize,
    /// Where the value bytes are (the field itself when they fit in it), and how many.
    pub value_at: usize,
    pub value_len: usize,
}

/// One image file directory.
#[derive(Debug, Clone)]
pub struct Ifd {
    pub at: usize,
    pub entries: Vec<Entry>,
    /// Position of the next-IFD pointer.
    pub next_at: usize,
}

/// The structure of a TIFF-based file.
#[derive(Debug, Clone)]
pub struct Tiff {
    pub little_endian: bool,
    pub big: bool,
    pub ifds: Vec<Ifd>,
}

/// Bytes per value of a TIFF field type (0 for unknown types).
pub fn type_size(typ: u16) -> usize {
    match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => 0,
    }
}

const MAX_IFDS: usize = 64;
const SUB_IFDS: u16 = 330;
const EXIF_IFD: u16 = 34665;

impl Tiff {
    /// The structure of `data`, or `None` if it is not TIFF.
    pub fn parse(data: &[u8]) -> Option<Tiff> {
        let little_endian = match data.get(..2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        let mut t = Tiff {
            little_endian,
            big: false,
            ifds: Vec::new(),
        };
        let first = match t.uint(data, 2, 2)? {
            42 => t.uint(data, 4, 4)?,
            43 => {
                t.big = true;
                t.uint(data, 8, 8)?
            }
            _ => return None,
        };
        let mut queue = std::collections::VecDeque::from([first]);
        let mut seen = Vec::new();
        while let Some(at) = queue.pop_front() {
            if at == 0 || seen.contains(&at) || seen.len() >= MAX_IFDS {
                continue;
            }
            seen.push(at);
            let Some(ifd) = t.ifd(data, at as usize) else {
                continue;
            };
            if let Some(next) = t.uint(data, ifd.next_at, t.offset_size()) {
                queue.push_back(next);
            }
            for e in &ifd.entries {
                if e.tag == SUB_IFDS || e.tag == EXIF_IFD {
                    queue.extend(t.values(data, e));
                }
            }
            t.ifds.push(ifd);
        }
        Some(t)
    }

    /// Bytes of an offset (and of a count): 4 in classic TIFF, 8 in BigTIFF.
    pub fn offset_size(&self) -> usize {
        if self.big {
            8
        } else {
            4
        }
    }

    fn ifd(&self, data: &[u8], at: usize) -> Option<Ifd> {
        let o = self.offset_size();
        let (n, first) = if self.big {
            (self.uint(data, at, 8)?, at + 8)
        } else {
            (self.uint(data, at, 2)?, at + 2)
        };
        let entry_size = 4 + 2 * o;
        let n = (n as usize).min(4096);
        let mut entries = Vec::new();
        for i in 0..n {
            let e = first + i * entry_size;
            let (Some(tag), Some(typ), Some(count)) = (
                self.uint(data, e, 2),
                self.uint(data, e + 2, 2),
                self.uint(data, e + 4, o),
            ) else {
                break;
            };
            let field_at = e + 4 + o;
            let len = (count as usize).saturating_mul(type_size(typ as u16));
            let value_at = if len <= o {
                field_at
            } else {
                self.uint(data, field_at, o).unwrap_or(u64::MAX) as usize
            };
            entries.push(Entry {
                at: e,
                tag: tag as u16,
                typ: typ as u16,
                count,
                count_at: e + 4,
                field_at,
                value_at,
                value_len: len,
            });
        }
        Some(Ifd {
            at,
            entries,
            next_at: first + n * entry_size,
        })
    }

    /// An unsigned integer of `size` bytes at `at` in the file's byte order.
    pub fn uint(&self, data: &[u8], at: usize, size: usize) -> Option<u64> {
        let b = data.get(at..at.checked_add(size)?)?;
        Some(if self.little_endian {
            b.iter().rev().fold(0, |v, &x| (v << 8) | x as u64)
        } else {
            b.iter().fold(0, |v, &x| (v << 8) | x as u64)
        })
    }

    /// Write the low `size` bytes of `v` at `at` in the file's byte order (nothing past the end).
    pub fn put(&self, data: &mut [u8], at: usize, size: usize, v: u64) {
        for i in 0..size {
            let shift = if self.little_endian { i } else { size - 1 - i };
            if let Some(b) = data.get_mut(at.wrapping_add(i)) {
                *b = (v >> (8 * shift)) as u8;
            }
        }
    }

    /// The integer values of an entry (integer types only; nothing for the others or past the end).
    pub fn values(&self, data: &[u8], e: &Entry) -> Vec<u64> {
        let size = match e.typ {
            1 | 3 | 4 | 13 | 16 | 18 => type_size(e.typ),
            _ => return Vec::new(),
        };
        (0..(e.count as usize).min(1 << 16))
            .map_while(|i| self.uint(data, e.value_at.checked_add(i * size)?, size))
            .collect()
    }

    /// Every entry of every IFD.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.ifds.iter().flat_map(|d| d.entries.iter())
    }

    /// The pixel chunks (strips or tiles) of every IFD: (offset, byte count).
    pub fn chunks(&self, data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for ifd in &self.ifds {
            let find = |t: u16| ifd.entries.iter().find(|e| e.tag == t);
            for (offsets, counts) in [(273, 279), (324, 325)] {
                if let (Some(o), Some(c)) = (find(offsets), find(counts)) {
                    let (o, c) = (self.values(data, o), self.values(data, c));
                    out.extend(o.iter().zip(&c).map(|(&o, &c)| (o as usize, c as usize)));
                }
            }
        }
        out.retain(|&(o, c)| o.checked_add(c).is_some_and(|end| end <= data.len()));
        out
    }
}
