//! The mutator: a deterministic, seeded change of a seed file, aware of TIFF/DNG structure (tag
//! types, counts, offsets, image and chunk sizes, repeat dimensions, opcode lists, lossless-JPEG
//! headers inside the chunks, IFD loops), of CIFF heaps (Canon CRW), and blind byte changes for
//! every format. Each case is a pure function of (seed bytes, case number, run seed), so any case
//! can be replayed from its number.

use super::tiff::{type_size, Entry, Tiff};

/// SplitMix64: small, fast and good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    /// The generator of case `case` of a run started with `seed`.
    pub fn for_case(seed: u64, case: u64) -> Rng {
        let mut r = Rng(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// Values that break size arithmetic: zero, one, powers of two and their neighbours, the
/// largest signed and unsigned values of each width.
const INTERESTING: [u64; 22] = [
    0,
    1,
    2,
    3,
    4,
    6,
    7,
    8,
    16,
    255,
    256,
    4095,
    0x7FFF,
    0xFFFF,
    0x1_0000,
    100_000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    0x7FFF_FFFF_FFFF_FFFF,
    u64::MAX,
];

/// A value near `orig`, or an interesting one, or one relative to the file length.
fn odd_value(rng: &mut Rng, orig: u64, file_len: usize) -> u64 {
    let len = file_len as u64;
    match rng.below(6) {
        0 | 1 => INTERESTING[rng.below(INTERESTING.len())],
        2 => orig.wrapping_add(rng.below(5) as u64).wrapping_sub(2),
        3 => match rng.below(3) {
            0 => orig.wrapping_mul(2),
            1 => orig / 2,
            _ => orig.wrapping_mul(1 << rng.below(20)),
        },
        4 => [len, len - len.min(1), len + 1, len + 4096, len / 2][rng.below(5)],
        _ => rng.next() >> rng.below(64),
    }
}

/// Tags whose values are sizes, counts, positions or layout switches: where decoders do arithmetic.
const SIZE_TAGS: [u16; 26] = [
    254, 256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 322, 323, 324, 325, 330, 339, 33421,
    33422, 50706, 50712, 50713, 50714, 50717, 50829, 50720,
];
/// Tags worth renaming an entry to: the structural ones above plus the opcode lists, crops,
/// colour planes, black deltas.
const RETAG: [u16; 12] = [
    51008, 51009, 51022, 50719, 50710, 50715, 50716, 34665, 330, 50712, 33421, 50713,
];
const OPCODE_TAGS: [u16; 3] = [51008, 51009, 51022];

/// One mutated case and what was done to it (for the reproducer's note).
pub struct Case {
    pub bytes: Vec<u8>,
    pub what: Vec<String>,
}

/// Mutate `seed` (whose TIFF structure, if any, is `tiff`) with 1–3 stacked changes.
pub fn mutate(seed: &[u8], tiff: Option<&Tiff>, rng: &mut Rng) -> Case {
    let mut data = seed.to_vec();
    let mut what = Vec::new();
    let n = 1 + rng.below(3);
    for _ in 0..n {
        let structural = match tiff {
            Some(t) if !rng.chance(4) => tiff_mutation(&mut data, t, rng),
            None if is_ciff(&data) && !rng.chance(3) => ciff_mutation(&mut data, rng),
            _ => None,
        };
        what.push(structural.unwrap_or_else(|| byte_mutation(&mut data, rng)));
    }
    Case { bytes: data, what }
}

fn byte_mutation(data: &mut Vec<u8>, rng: &mut Rng) -> String {
    if data.is_empty() {
        data.push(rng.next() as u8);
        return "grew an empty file".into();
    }
    // Headers and directories sit mostly in the first 64 KiB; pixel bytes are forgiving.
    let span = if rng.chance(3) {
        data.len()
    } else {
        data.len().min(1 << 16)
    };
    match rng.below(5) {
        0 | 1 => {
            let k = 1 + rng.below(8);
            for _ in 0..k {
                let at = rng.below(span);
                data[at] ^= 1 << rng.below(8);
                if rng.chance(2) {
                    data[at] = rng.next() as u8;
                }
            }
            format!("flipped {k} bytes")
        }
        2 => {
            let at = rng.below(span);
            let v = INTERESTING[rng.below(INTERESTING.len())] as u32;
            let b = if rng.chance(2) {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            for (i, x) in b.iter().enumerate() {
                if let Some(d) = data.get_mut(at + i) {
                    *d = *x;
                }
            }
            format!("wrote {v:#x} at {at}")
        }
        3 => {
            let len = match rng.below(3) {
                0 => rng.below(data.len().min(4096)),
                1 => data.len() - 1 - rng.below(data.len().min(4096)),
                _ => rng.below(data.len()),
            };
            data.truncate(len);
            format!("truncated to {len} bytes")
        }
        _ => {
            // Copy a block over another place (duplicated headers, shifted tables).
            let len = 1 + rng.below(64);
            let (from, to) = (rng.below(span), rng.below(span));
            let block: Vec<u8> = data[from..(from + len).min(data.len())].to_vec();
            let end = (to + block.len()).min(data.len());
            data[to..end].copy_from_slice(&block[..end - to]);
            format!("copied {len} bytes from {from} to {to}")
        }
    }
}

fn tiff_mutation(data: &mut [u8], t: &Tiff, rng: &mut Rng) -> Option<String> {
    let entries: Vec<&Entry> = t.entries().collect();
    let e = *rng.pick(&entries)?;
    let o = t.offset_size();
    Some(match rng.below(10) {
        0 => {
            let typ = rng.below(20) as u16;
            t.put(data, e.at + 2, 2, typ as u64);
            format!("tag {} type {} -> {typ}", e.tag, e.typ)
        }
        1 => {
            let v = odd_value(rng, e.count, data.len());
            t.put(data, e.count_at, o, v);
            format!("tag {} count {} -> {v}", e.tag, e.count)
        }
        2 => {
            // Value offset past the end, at zero, into the header, onto its own IFD.
            let v = match rng.below(3) {
                0 => odd_value(rng, e.value_at as u64, data.len()),
                1 => e.at as u64,
                _ => (data.len() + rng.below(16)) as u64,
            };
            t.put(data, e.field_at, o, v);
            format!("tag {} value field -> {v}", e.tag)
        }
        3 | 4 => return size_tag(data, t, rng),
        5 => return chunk_table(data, t, rng),
        6 => return ifd_loop(data, t, rng),
        7 => return opcode_list(data, t, rng),
        8 => return ljpeg_header(data, t, rng),
        _ => {
            let tag = *rng.pick(&RETAG)?;
            t.put(data, e.at, 2, tag as u64);
            format!("tag {} renamed {tag}", e.tag)
        }
    })
}

/// One value of an entry, `index` within its count, rewritten.
fn put_value(data: &mut [u8], t: &Tiff, e: &Entry, index: usize, v: u64) -> bool {
    let size = type_size(e.typ);
    let Some(at) = (size > 0 && (index as u64) < e.count)
        .then(|| e.value_at.checked_add(index * size))
        .flatten()
    else {
        return false;
    };
    if at.saturating_add(size) > data.len() {
        return false;
    }
    t.put(data, at, size, v);
    true
}

fn size_tag(data: &mut [u8], t: &Tiff, rng: &mut Rng) -> Option<String> {
    let sized: Vec<&Entry> = t.entries().filter(|e| SIZE_TAGS.contains(&e.tag)).collect();
    let e = *rng.pick(&sized)?;
    let values = t.values(data, e);
    let index = rng.below(values.len().max(1));
    let orig = values.get(index).copied().unwrap_or(0);
    let v = odd_value(rng, orig, data.len());
    put_value(data, t, e, index, v).then(|| format!("tag {}[{index}] {orig} -> {v}", e.tag))
}

fn chunk_table(data: &mut [u8], t: &Tiff, rng: &mut Rng) -> Option<String> {
    let tables: Vec<&Entry> = t
        .entries()
        .filter(|e| matches!(e.tag, 273 | 279 | 324 | 325))
        .collect();
    let e = *rng.pick(&tables)?;
    let values = t.values(data, e);
    let i = rng.below(values.len().max(1));
    let orig = values.get(i).copied().unwrap_or(0);
    let v = match rng.below(3) {
        0 => values.get(rng.below(values.len())).copied().unwrap_or(0), // a duplicate chunk
        _ => odd_value(rng, orig, data.len()),
    };
    put_value(data, t, e, i, v).then(|| format!("chunk tag {}[{i}] {orig} -> {v}", e.tag))
}

/// A next-IFD or SubIFD pointer aimed back at an IFD already on the path.
fn ifd_loop(data: &mut [u8], t: &Tiff, rng: &mut Rng) -> Option<String> {
    let ifd = rng.pick(&t.ifds)?;
    let target = rng.pick(&t.ifds)?.at as u64;
    let subs: Vec<&Entry> = ifd
        .entries
        .iter()
        .filter(|e| e.tag == 330 || e.tag == 34665)
        .collect();
    match rng.pick(&subs) {
        Some(e) if rng.chance(2) => put_value(data, t, e, 0, target)
            .then(|| format!("IFD at {} sub-IFD -> {target}", ifd.at)),
        _ => {
            t.put(data, ifd.next_at, t.offset_size(), target);
            Some(format!("IFD at {} next -> {target}", ifd.at))
        }
    }
}

/// Inside an opcode list: the count, an opcode's id / flags / size, or a number of its parameters.
fn opcode_list(data: &mut [u8], t: &Tiff, rng: &mut Rng) -> Option<String> {
    let lists: Vec<&Entry> = t
        .entries()
        .filter(|e| OPCODE_TAGS.contains(&e.tag))
        .collect();
    let e = *rng.pick(&lists)?;
    let end = e.value_at.checked_add(e.value_len)?.min(data.len());
    let list = data.get(e.value_at..end)?;
    // Opcode headers: count, then (id, version, flags, size) + params.
    let be = |at: usize| {
        list.get(at..at + 4)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
    };
    let mut headers = Vec::new();
    let mut at = 4;
    while let Some(size) = be(at + 12) {
        headers.push(at);
        at = at.saturating_add(16).saturating_add(size as usize);
        if headers.len() > 64 {
            break;
        }
    }
    let field = match (rng.below(4), rng.pick(&headers)) {
        (0, _) | (_, None) => 0,
        (1, Some(&h)) => h + 4 * [0, 2, 3][rng.below(3)],
        (_, Some(&h)) => h + 16 + 4 * rng.below(12),
    };
    let orig = be(field)? as u64;
    let v = match rng.below(4) {
        0 => (1 + rng.below(15)) as u64, // another opcode id, or a small count
        1 => [0x7FC0_0000u64, 0x7F80_0000, 0xFF80_0000, 0x3F80_0000][rng.below(4)], // NaN, ±inf, 1.0
        _ => odd_value(rng, orig, data.len()),
    } as u32;
    data[e.value_at + field..][..4].copy_from_slice(&v.to_be_bytes());
    Some(format!(
        "opcode list {} u32 at +{field} {orig} -> {v}",
        e.tag
    ))
}

/// A field of an SOF3 / DHT / SOS / DRI segment in the first bytes of a pixel chunk, or the
/// chunk's entropy-coded data.
fn ljpeg_header(data: &mut [u8], t: &Tiff, rng: &mut Rng) -> Option<String> {
    let chunks = t.chunks(data);
    let &(offset, count) = rng.pick(&chunks)?;
    let head = &data[offset..offset + count.min(2048)];
    let markers: Vec<usize> = (0..head.len().saturating_sub(1))
        .filter(|&i| head[i] == 0xFF && matches!(head[i + 1], 0xC3 | 0xC4 | 0xDA | 0xDD | 0xD8))
        .collect();
    let Some(&m) = rng.pick(&markers) else {
        // No JPEG here: damage the chunk's bytes instead.
        let at = offset + rng.below(count.max(1));
        if let Some(b) = data.get_mut(at) {
            *b = rng.next() as u8;
        }
        return Some(format!("chunk byte at {at}"));
    };
    let marker = head[m + 1];
    let at = offset + m + 2 + rng.below(24);
    let b = data.get_mut(at)?;
    let old = *b;
    *b = match rng.below(3) {
        0 => [0, 1, 2, 4, 7, 8, 15, 16, 17, 0x7F, 0xFF][rng.below(11)],
        1 => old ^ (1 << rng.below(8)),
        _ => rng.next() as u8,
    };
    Some(format!(
        "JPEG marker {marker:02X} field at {at}: {old} -> {}",
        *b
    ))
}

fn is_ciff(data: &[u8]) -> bool {
    data.get(..2) == Some(b"II") && data.get(6..14) == Some(b"HEAPCCDR")
}

/// A record of a CIFF heap (type, size, offset): its size or offset made odd, or its type
/// changed (a value record turned into a sub-heap, ...).
fn ciff_mutation(data: &mut [u8], rng: &mut Rng) -> Option<String> {
    let u32_at = |d: &[u8], o: usize| {
        d.get(o..o.checked_add(4)?)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let header = u32_at(data, 2)? as usize;
    let mut records = Vec::new();
    // The root heap and one level of sub-heaps: enough to reach every camera setting.
    let mut heaps = vec![(header, data.len())];
    while let Some((start, end)) = heaps.pop() {
        let Some(table) = end
            .checked_sub(4)
            .and_then(|p| u32_at(data, p))
            .and_then(|t| start.checked_add(t as usize))
        else {
            continue;
        };
        let Some(n) = data
            .get(table..table + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
        else {
            continue;
        };
        for i in 0..(n as usize).min(256) {
            let r = table + 2 + 10 * i;
            let (Some(size), Some(off)) = (u32_at(data, r + 2), u32_at(data, r + 6)) else {
                break;
            };
            let ty = u16::from_le_bytes([data[r], data[r + 1]]);
            records.push(r);
            let (s, o) = (size as usize, start.saturating_add(off as usize));
            if matches!(ty & 0x3800, 0x2800 | 0x3000)
                && o.saturating_add(s) <= end
                && heaps.len() < 16
                && records.len() < 512
            {
                heaps.push((o, o + s));
            }
        }
    }
    let &r = rng.pick(&records)?;
    let field = [0usize, 2, 6][rng.below(3)];
    let v = odd_value(rng, u32_at(data, r + field)? as u64, data.len());
    let width = if field == 0 { 2 } else { 4 };
    data[r + field..r + field + width].copy_from_slice(&v.to_le_bytes()[..width]);
    Some(format!("CIFF record at {r} field +{field} -> {v:#x}"))
}
