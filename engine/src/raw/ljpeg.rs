//! Lossless JPEG (ITU-T T.81 process 14, "LJ92"), as DNG stores compressed raw tiles and strips:
//! a decoder for every predictor 1–7, 1–4 interleaved components, 2–16 bits, restart markers and
//! the 16-bit difference category with no extra bits (T.81 H.1.2.2); and an encoder for our own
//! DNG output and the tests.
//!
//! Written here rather than taken from a crate: jpeg-decoder 0.3 reads lossless JPEG, but only
//! with 1, 3 or 4 components (DNG converters write 2: two Bayer columns per JPEG sample), and it
//! applies the 2-D predictor on the first line after a restart, where T.81 H.1.2.1 says Ra.
//!
//! The decoder works on untrusted bytes: every length is checked, sizes are bounded by the
//! caller's limit before anything is allocated, and a stream that ends early is an error (never
//! zeros made up to fill the image).

use std::fmt;

/// Why a lossless JPEG stream could not be decoded; the caller adds the file and the chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LjpegError {
    /// Corrupt or truncated data.
    Corrupt(String),
    /// Valid JPEG this decoder does not handle (another process, several scans, subsampling).
    Unsupported(String),
}

impl fmt::Display for LjpegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LjpegError::Corrupt(s) => write!(f, "corrupt lossless JPEG: {s}"),
            LjpegError::Unsupported(s) => write!(f, "unsupported lossless JPEG: {s}"),
        }
    }
}

type Result<T> = std::result::Result<T, LjpegError>;

fn corrupt<T>(what: impl Into<String>) -> Result<T> {
    Err(LjpegError::Corrupt(what.into()))
}

fn unsupported<T>(what: impl Into<String>) -> Result<T> {
    Err(LjpegError::Unsupported(what.into()))
}

/// A decoded image: `height` lines of `width × components` samples, components interleaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Image {
    /// Samples per line per component (the frame header's X).
    pub width: u32,
    /// Lines (Y).
    pub height: u32,
    /// Components per sample (Nf), 1–4.
    pub components: u32,
    /// Bits per sample (P), 2–16.
    pub precision: u8,
    /// `height × width × components` values.
    pub samples: Vec<u16>,
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOF3: u8 = 0xC3;
const DHT: u8 = 0xC4;
const SOS: u8 = 0xDA;
const DRI: u8 = 0xDD;
const RST0: u8 = 0xD0;

/// Bits looked up at once when decoding a Huffman code; longer codes take the slow path.
const LOOKUP_BITS: u32 = 10;

/// A Huffman table (T.81 Annex C) with a lookup for short codes.
#[derive(Debug, Clone)]
struct Huffman {
    /// Indexed by the next LOOKUP_BITS bits: code length << 8 | symbol, 0 when longer.
    lookup: Vec<u16>,
    /// Largest code of each length 1..=16 (−1 when none), F.2.2.3's MAXCODE.
    max_code: [i32; 17],
    /// Code minus this gives the index into `values` for each length (VALPTR − MINCODE).
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    /// From the 16 code counts and the symbols of a DHT segment (or our encoder).
    fn new(counts: &[u8; 16], values: &[u8]) -> Result<Huffman> {
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if total != values.len() || total == 0 || total > 256 {
            return corrupt("Huffman table with an invalid number of codes");
        }
        let mut lookup = vec![0u16; 1 << LOOKUP_BITS];
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16u32 {
            let n = counts[len as usize - 1] as usize;
            offset[len as usize] = k as i32 - code as i32;
            for &symbol in &values[k..k + n] {
                if code >= 1 << len {
                    return corrupt("Huffman table with more codes than fit their lengths");
                }
                if len <= LOOKUP_BITS {
                    let shift = LOOKUP_BITS - len;
                    let first = (code << shift) as usize;
                    lookup[first..first + (1 << shift)].fill((len << 8) as u16 | symbol as u16);
                }
                code += 1;
            }
            k += n;
            if n > 0 {
                max_code[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(Huffman {
            lookup,
            max_code,
            offset,
            values: values.to_vec(),
        })
    }
}

/// Entropy-coded bits, MSB first, with 0xFF 0x00 unstuffed. At a marker or the end of the data
/// it feeds zero bits and counts them, so decoding never runs off the slice; reading any of
/// those made-up bits is reported as truncation.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// The low `count` bits are valid, the oldest highest.
    acc: u64,
    count: u32,
    /// How many of the low bits of `acc` are made up (past a marker or the end).
    fake: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Bits<'a> {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
            fake: 0,
        }
    }

    /// Make at least 57 bits available.
    #[inline]
    fn refill(&mut self) {
        while self.count <= 56 {
            let mut byte = 0;
            if self.fake == 0 {
                match self.data.get(self.pos) {
                    Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                    Some(&0xFF) | None => self.fake = 8,
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                }
            } else {
                self.fake += 8;
            }
            self.acc = (self.acc << 8) | byte as u64;
            self.count += 8;
        }
    }

    #[inline]
    fn peek(&self, n: u32) -> u32 {
        ((self.acc >> (self.count - n)) & ((1u64 << n) - 1)) as u32
    }

    /// Whether decoding has used bits past the end of the entropy-coded data.
    fn overrun(&self) -> bool {
        self.count < self.fake
    }

    /// One Huffman-coded difference (T.81 F.2.2.1 and H.1.2.2).
    #[inline]
    fn difference(&mut self, table: &Huffman) -> Result<i32> {
        self.refill();
        let entry = table.lookup[self.peek(LOOKUP_BITS) as usize];
        let (len, category) = if entry != 0 {
            ((entry >> 8) as u32, (entry & 0xFF) as u32)
        } else {
            let mut len = LOOKUP_BITS + 1;
            loop {
                let code = self.peek(len) as i32;
                if code <= table.max_code[len as usize] {
                    // Canonical codes keep the index in range; checked all the same.
                    let i = (code + table.offset[len as usize]) as usize;
                    match table.values.get(i) {
                        Some(&v) => break (len, v as u32),
                        None => return corrupt("invalid Huffman code"),
                    }
                }
                len += 1;
                if len > 16 {
                    return corrupt("invalid Huffman code");
                }
            }
        };
        self.count -= len;
        match category {
            0 => Ok(0),
            1..=15 => {
                let v = self.peek(category) as i32;
                self.count -= category;
                // F.2.2.1 EXTEND: values below half the range are negative.
                Ok(if v < 1 << (category - 1) {
                    v - (1 << category) + 1
                } else {
                    v
                })
            }
            // DNG and T.81 H.1.2.2: the 16-bit category has no extra bits.
            16 => Ok(32768),
            _ => corrupt(format!("difference category {category} is above 16")),
        }
    }

    /// Skip to a restart marker RSTn and start afresh after it.
    fn restart(&mut self, expected: u8) -> Result<()> {
        if self.overrun() {
            return corrupt("data ends before the restart marker");
        }
        (self.acc, self.count, self.fake) = (0, 0, 0);
        // Fill bytes (0xFF) may precede a marker.
        while self.data.get(self.pos) == Some(&0xFF) && self.data.get(self.pos + 1) == Some(&0xFF) {
            self.pos += 1;
        }
        match self.data.get(self.pos..self.pos + 2) {
            Some(&[0xFF, m]) if m == RST0 + expected => {
                self.pos += 2;
                Ok(())
            }
            _ => corrupt(format!("restart marker RST{expected} missing")),
        }
    }
}

/// Frame header (SOF3) fields we use.
struct Frame {
    precision: u8,
    height: u32,
    width: u32,
    ids: Vec<u8>,
}

/// Big-endian reader over the marker segments.
struct Segments<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Segments<'a> {
    fn u8(&mut self) -> Result<u8> {
        let b = *self.data.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(b)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(((self.u8()? as u16) << 8) | self.u8()? as u16)
    }
    /// The payload of a marker segment (after its length field).
    fn segment(&mut self) -> Result<&'a [u8]> {
        let len = self.u16()? as usize;
        if len < 2 {
            return corrupt("marker segment length below 2");
        }
        let body = self
            .data
            .get(self.pos..self.pos + len - 2)
            .ok_or_else(truncated)?;
        self.pos += len - 2;
        Ok(body)
    }
    /// The next marker code, skipping fill bytes.
    fn marker(&mut self) -> Result<u8> {
        if self.u8()? != 0xFF {
            return corrupt("expected a marker");
        }
        let mut m = self.u8()?;
        while m == 0xFF {
            m = self.u8()?;
        }
        Ok(m)
    }
}

fn truncated() -> LjpegError {
    LjpegError::Corrupt("data ends inside the headers".into())
}

/// Decode a lossless JPEG stream. `max_samples` bounds width × height × components before any
/// allocation (the caller knows how many its tile or strip can hold).
pub(crate) fn decode(data: &[u8], max_samples: u64) -> Result<Image> {
    // Every sample costs at least a one-bit Huffman code: a header declaring far more samples
    // than its bytes can code is a lie, refused before allocating for it.
    let max_samples = max_samples.min(super::limits::max_values(data.len() as u64));
    let mut s = Segments { data, pos: 0 };
    if s.marker().ok() != Some(SOI) {
        return corrupt("no start-of-image marker");
    }
    let mut frame: Option<Frame> = None;
    let mut tables: [Option<Huffman>; 4] = [None, None, None, None];
    let mut restart_interval = 0u32;
    loop {
        let marker = s.marker()?;
        match marker {
            SOF3 => {
                let b = s.segment()?;
                let Some((&[p, y0, y1, x0, x1, nf], rest)) = b.split_first_chunk::<6>() else {
                    return corrupt("frame header too short");
                };
                if !(2..=16).contains(&p) {
                    return corrupt(format!("precision of {p} bits"));
                }
                if !(1..=4).contains(&nf) {
                    return unsupported(format!("{nf} components"));
                }
                if rest.len() != 3 * nf as usize {
                    return corrupt("frame header length does not match its components");
                }
                if rest.chunks_exact(3).any(|c| c[1] != 0x11) {
                    return unsupported("subsampled components");
                }
                let (height, width) = (u16::from_be_bytes([y0, y1]), u16::from_be_bytes([x0, x1]));
                if height == 0 {
                    return unsupported("image height given after the scan (DNL)");
                }
                if width == 0 {
                    return corrupt("zero width");
                }
                let n = width as u64 * height as u64 * nf as u64;
                if n > max_samples {
                    return corrupt(format!(
                        "{width}×{height}×{nf} samples, more than the {max_samples} its tile holds"
                    ));
                }
                frame = Some(Frame {
                    precision: p,
                    height: height as u32,
                    width: width as u32,
                    ids: rest.chunks_exact(3).map(|c| c[0]).collect(),
                });
            }
            DHT => {
                let mut b = s.segment()?;
                while let Some((&tc_th, rest)) = b.split_first() {
                    let counts: &[u8; 16] = rest
                        .first_chunk()
                        .ok_or_else(|| LjpegError::Corrupt("Huffman table too short".into()))?;
                    let n: usize = counts.iter().map(|&c| c as usize).sum();
                    let values = rest
                        .get(16..16 + n)
                        .ok_or_else(|| LjpegError::Corrupt("Huffman table too short".into()))?;
                    let (class, id) = (tc_th >> 4, (tc_th & 15) as usize);
                    if id > 3 || class > 1 {
                        return corrupt("Huffman table id out of range");
                    }
                    // Lossless scans use the DC tables only.
                    if class == 0 {
                        tables[id] = Some(Huffman::new(counts, values)?);
                    }
                    b = &rest[16 + n..];
                }
            }
            DRI => {
                let b = s.segment()?;
                let &[r0, r1] = b else {
                    return corrupt("restart interval segment of the wrong length");
                };
                restart_interval = u16::from_be_bytes([r0, r1]) as u32;
            }
            SOS => {
                let Some(frame) = frame else {
                    return corrupt("scan before the frame header");
                };
                let b = s.segment()?;
                let ns = *b.first().ok_or_else(truncated)? as usize;
                if b.len() != 1 + 2 * ns + 3 {
                    return corrupt("scan header length does not match its components");
                }
                if ns != frame.ids.len() {
                    return unsupported("components in several scans");
                }
                let mut scan_tables = Vec::with_capacity(ns);
                for (i, c) in b[1..1 + 2 * ns].chunks_exact(2).enumerate() {
                    if c[0] != frame.ids[i] {
                        return unsupported("scan components in another order than the frame's");
                    }
                    let t = (c[1] >> 4) as usize;
                    match tables.get(t) {
                        Some(Some(h)) => scan_tables.push(h),
                        _ => return corrupt(format!("scan uses the undefined Huffman table {t}")),
                    }
                }
                let (predictor, point_transform) = (b[1 + 2 * ns], b[3 + 2 * ns] & 15);
                if !(1..=7).contains(&predictor) {
                    return corrupt(format!("predictor {predictor} (lossless needs 1–7)"));
                }
                if point_transform >= frame.precision {
                    return corrupt("point transform not below the precision");
                }
                let samples = decode_scan(
                    &frame,
                    &scan_tables,
                    predictor,
                    point_transform,
                    restart_interval,
                    data,
                    s.pos,
                )?;
                return Ok(Image {
                    width: frame.width,
                    height: frame.height,
                    components: frame.ids.len() as u32,
                    precision: frame.precision,
                    samples,
                });
            }
            EOI => return corrupt("image ends before any scan"),
            0xC0..=0xCF => {
                return unsupported(format!(
                    "JPEG process SOF{} (only lossless SOF3 is)",
                    marker - 0xC0
                ))
            }
            // APPn, COM, DQT, DNL, ...: skipped.
            _ => {
                s.segment()?;
            }
        }
    }
}

/// The entropy-coded segment after SOS: T.81 H.1.2 prediction and reconstruction.
fn decode_scan(
    frame: &Frame,
    tables: &[&Huffman],
    predictor: u8,
    point_transform: u8,
    restart_interval: u32,
    data: &[u8],
    start: usize,
) -> Result<Vec<u16>> {
    let nc = tables.len();
    let (width, height) = (frame.width as usize, frame.height as usize);
    let line = width * nc;
    // Restarts are supported at line starts (as DNG writers put them): an interval's first line
    // is then predicted as the image's first line is.
    let restart_lines = if restart_interval == 0 {
        usize::MAX
    } else if (restart_interval as usize).is_multiple_of(width) {
        restart_interval as usize / width
    } else {
        return unsupported("a restart interval that is not a whole number of lines");
    };
    let initial = 1i32 << (frame.precision - point_transform - 1);
    let mut out = vec![0u16; line * height];
    let mut bits = Bits::new(data, start);
    let mut restarts = 0u8;
    for y in 0..height {
        let first_line = y % restart_lines == 0;
        if first_line && y > 0 {
            bits.restart(restarts)?;
            restarts = (restarts + 1) % 8;
        }
        let (done, rest) = out.split_at_mut(y * line);
        let row = &mut rest[..line];
        if first_line {
            for c in 0..nc {
                row[c] = (initial + bits.difference(tables[c])?) as u16;
            }
            for i in nc..line {
                let d = bits.difference(tables[i % nc])?;
                row[i] = (row[i - nc] as i32 + d) as u16;
            }
        } else {
            let above = &done[(y - 1) * line..][..line];
            // One copy of the loop per predictor, so the choice is not made per sample.
            match predictor {
                1 => predicted_line::<1>(&mut bits, tables, row, above)?,
                2 => predicted_line::<2>(&mut bits, tables, row, above)?,
                3 => predicted_line::<3>(&mut bits, tables, row, above)?,
                4 => predicted_line::<4>(&mut bits, tables, row, above)?,
                5 => predicted_line::<5>(&mut bits, tables, row, above)?,
                6 => predicted_line::<6>(&mut bits, tables, row, above)?,
                _ => predicted_line::<7>(&mut bits, tables, row, above)?,
            }
        }
        if bits.overrun() {
            return corrupt(format!("data ends at line {y} of {height}"));
        }
    }
    if point_transform > 0 {
        out.iter_mut().for_each(|v| *v <<= point_transform);
    }
    Ok(out)
}

/// A line after the first of its restart interval: Rb for its first sample, predictor `P`
/// for the others.
#[inline(always)]
fn predicted_line<const P: u8>(
    bits: &mut Bits,
    tables: &[&Huffman],
    row: &mut [u16],
    above: &[u16],
) -> Result<()> {
    let nc = tables.len();
    for c in 0..nc {
        row[c] = (above[c] as i32 + bits.difference(tables[c])?) as u16;
    }
    for i in (nc..row.len()).step_by(nc) {
        for (c, table) in tables.iter().enumerate() {
            let j = i + c;
            let (a, b, cc) = (row[j - nc] as i32, above[j] as i32, above[j - nc] as i32);
            row[j] = (predict(P, a, b, cc) + bits.difference(table)?) as u16;
        }
    }
    Ok(())
}

/// T.81 Table H.1, for lines after the first (with `>>` arithmetic, as in the standard).
#[inline(always)]
fn predict(predictor: u8, a: i32, b: i32, c: i32) -> i32 {
    match predictor {
        1 => a,
        2 => b,
        3 => c,
        4 => a + b - c,
        5 => a + ((b - c) >> 1),
        6 => b + ((a - c) >> 1),
        _ => (a + b) >> 1,
    }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodeOptions {
    /// Predictor selection value 1–7.
    pub predictor: u8,
    /// Bits per sample 2–16; samples must fit.
    pub precision: u8,
    /// Point transform: low bits dropped (they must be zero for the round trip to be exact).
    pub point_transform: u8,
    /// Lines per restart interval, 0 for none.
    pub restart_lines: u32,
}

/// Encode `height` lines of `width × components` interleaved samples as one lossless JPEG
/// scan, with one optimal Huffman table per component (T.81 Annex K.2).
///
/// Panics on arguments our own callers never pass (sizes above 65535, sample count mismatch).
pub(crate) fn encode(
    samples: &[u16],
    width: u32,
    height: u32,
    components: u32,
    options: EncodeOptions,
) -> Vec<u8> {
    let EncodeOptions {
        predictor,
        precision,
        point_transform: pt,
        restart_lines,
    } = options;
    let nc = components as usize;
    let (w, h) = (width as usize, height as usize);
    let line = w * nc;
    assert!((1..=4).contains(&nc) && (1..=7).contains(&predictor) && (2..=16).contains(&precision));
    assert!(w > 0 && h > 0 && w <= 65535 && h <= 65535 && samples.len() == line * h);
    assert!(restart_lines == 0 || (restart_lines as usize * w) <= 65535);

    // Differences (mod 2^16, as i16) exactly as the decoder will predict.
    let initial = 1i32 << (precision - pt - 1);
    let value = |i: usize| (samples[i] >> pt) as i32;
    let mut diffs = vec![0i16; samples.len()];
    for y in 0..h {
        let first_line =
            restart_lines == 0 && y == 0 || restart_lines > 0 && y % restart_lines as usize == 0;
        for x in 0..w {
            for c in 0..nc {
                let i = y * line + x * nc + c;
                let prediction = match (first_line, x) {
                    (true, 0) => initial,
                    (true, _) => value(i - nc),
                    (false, 0) => value(i - line),
                    (false, _) => predict(
                        predictor,
                        value(i - nc),
                        value(i - line),
                        value(i - line - nc),
                    ),
                };
                diffs[i] = (value(i) - prediction) as i16;
            }
        }
    }
    let category = |d: i16| -> u8 {
        if d == i16::MIN {
            16
        } else {
            (16 - d.unsigned_abs().leading_zeros()) as u8
        }
    };
    // One table per component, from its histogram.
    let mut codes = Vec::with_capacity(nc);
    let mut dht = Vec::new();
    for c in 0..nc {
        let mut freq = [0u64; 17];
        diffs
            .iter()
            .skip(c)
            .step_by(nc)
            .for_each(|&d| freq[category(d) as usize] += 1);
        let (counts, values) = huffman_lengths(&freq);
        dht.push(c as u8);
        dht.extend_from_slice(&counts);
        dht.extend_from_slice(&values);
        codes.push(code_words(&counts, &values));
    }

    let mut out = Vec::with_capacity(samples.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let segment = |out: &mut Vec<u8>, marker: u8, body: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(body);
    };
    let mut sof = vec![precision];
    sof.extend_from_slice(&(height as u16).to_be_bytes());
    sof.extend_from_slice(&(width as u16).to_be_bytes());
    sof.push(nc as u8);
    for c in 0..nc {
        sof.extend_from_slice(&[c as u8, 0x11, 0]);
    }
    segment(&mut out, SOF3, &sof);
    segment(&mut out, DHT, &dht);
    if restart_lines > 0 {
        segment(
            &mut out,
            DRI,
            &((restart_lines as usize * w) as u16).to_be_bytes(),
        );
    }
    let mut sos = vec![nc as u8];
    for c in 0..nc {
        sos.extend_from_slice(&[c as u8, (c as u8) << 4]);
    }
    sos.extend_from_slice(&[predictor, 0, pt]);
    segment(&mut out, SOS, &sos);

    let mut writer = BitWriter {
        out,
        acc: 0,
        count: 0,
    };
    for y in 0..h {
        if restart_lines > 0 && y > 0 && y % restart_lines as usize == 0 {
            writer.pad();
            let n = ((y / restart_lines as usize - 1) % 8) as u8;
            writer.out.extend_from_slice(&[0xFF, RST0 + n]);
        }
        for (i, &d) in diffs[y * line..][..line].iter().enumerate() {
            let s = category(d);
            let (code, len) = codes[i % nc][s as usize];
            writer.put(code as u32, len as u32);
            if (1..16).contains(&s) {
                let extra = if d < 0 { d as i32 - 1 } else { d as i32 };
                writer.put(extra as u32 & ((1 << s) - 1), s as u32);
            }
        }
    }
    writer.pad();
    let mut out = writer.out;
    out.extend_from_slice(&[0xFF, EOI]);
    out
}

/// Code lengths for the 17 difference categories (T.81 K.2, with the code of all ones kept
/// unused by a reserved symbol): the 16 counts and the symbols in code order.
fn huffman_lengths(freq: &[u64; 17]) -> ([u8; 16], Vec<u8>) {
    // Symbol 17 is the reserved one, frequency 1.
    let mut f = [0u64; 18];
    f[..17].copy_from_slice(freq);
    f[17] = 1;
    let mut size = [0usize; 18];
    let mut others = [usize::MAX; 18];
    loop {
        // The two least frequent (ties: the larger symbol), Figure K.1.
        let least = |skip: usize| {
            (0..18)
                .filter(|&v| f[v] > 0 && v != skip)
                .min_by_key(|&v| (f[v], std::cmp::Reverse(v)))
        };
        let Some(v1) = least(usize::MAX) else { break };
        let Some(v2) = least(v1) else { break };
        f[v1] += f[v2];
        f[v2] = 0;
        for start in [v1, v2] {
            let mut v = start;
            size[v] += 1;
            while others[v] != usize::MAX {
                v = others[v];
                size[v] += 1;
            }
        }
        let mut v = v1;
        while others[v] != usize::MAX {
            v = others[v];
        }
        others[v] = v2;
    }
    let mut bits = [0u32; 40];
    size.iter().filter(|&&s| s > 0).for_each(|&s| bits[s] += 1);
    // Figure K.3: no code longer than 16 bits.
    let mut i = bits.len() - 1;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1; // drop the reserved code (the longest)
                  // Figure K.4: symbols by code length, the reserved one last among its length and dropped.
    let mut values: Vec<u8> = (0..17u8).filter(|&v| size[v as usize] > 0).collect();
    values.sort_by_key(|&v| size[v as usize]);
    let mut counts = [0u8; 16];
    for l in 1..=16 {
        counts[l - 1] = bits[l] as u8;
    }
    (counts, values)
}

/// (code, length) of each of the 17 categories (T.81 C.2; unused ones get length 0).
fn code_words(counts: &[u8; 16], values: &[u8]) -> [(u16, u8); 17] {
    let mut table = [(0u16, 0u8); 17];
    let (mut code, mut k) = (0u16, 0usize);
    for len in 1..=16u8 {
        for _ in 0..counts[len as usize - 1] {
            table[values[k] as usize] = (code, len);
            code = code.wrapping_add(1);
            k += 1;
        }
        code = code.wrapping_shl(1);
    }
    table
}

/// MSB-first bit output with 0xFF stuffing.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl BitWriter {
    #[inline]
    fn put(&mut self, bits: u32, n: u32) {
        self.acc = (self.acc << n) | bits as u64;
        self.count += n;
        while self.count >= 8 {
            self.count -= 8;
            let byte = (self.acc >> self.count) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }

    /// Fill the last byte with ones (T.81 F.1.2.3).
    fn pad(&mut self) {
        if self.count > 0 {
            let n = 8 - self.count;
            self.put((1 << n) - 1, n);
        }
        self.acc = 0;
    }
}

#[cfg(test)]
mod tests;
