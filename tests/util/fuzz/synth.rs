//! Seeds built here for what the shared data lacks: a Nikon NEF (uncompressed 12-bit, the packed
//! decoder the rayon panics came from) and a small DNG carrying every structure our DNG
//! reader parses (all three opcode lists, per-position black levels, ActiveArea, DefaultCrop,
//! LinearizationTable, NoiseProfile), so the mutator has them to work on.

/// One tag: number, TIFF type, value bytes (little-endian).
type Tag = (u16, u16, Vec<u8>);

fn shorts(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn longs(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn ascii(s: &str) -> Vec<u8> {
    [s.as_bytes(), &[0]].concat()
}
fn rationals(v: &[(u32, u32)]) -> Vec<u8> {
    v.iter().flat_map(|&(n, d)| longs(&[n, d])).collect()
}

/// Append an IFD (entries sorted by tag, values out of line when over 4 bytes) to `out`; returns
/// its offset. `next` is the next-IFD pointer.
fn write_ifd(out: &mut Vec<u8>, mut tags: Vec<Tag>, next: u32) -> u32 {
    tags.sort_by_key(|t| t.0);
    if out.len() % 2 == 1 {
        out.push(0);
    }
    let at = out.len();
    let values_at = at + 2 + 12 * tags.len() + 4;
    let mut values = Vec::new();
    out.extend_from_slice(&(tags.len() as u16).to_le_bytes());
    for (tag, typ, bytes) in &tags {
        let size = super::tiff::type_size(*typ).max(1);
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&((bytes.len() / size) as u32).to_le_bytes());
        if bytes.len() <= 4 {
            let mut field = bytes.clone();
            field.resize(4, 0);
            out.extend_from_slice(&field);
        } else {
            if values.len() % 2 == 1 {
                values.push(0);
            }
            out.extend_from_slice(&((values_at + values.len()) as u32).to_le_bytes());
            values.extend_from_slice(bytes);
        }
    }
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&values);
    at as u32
}

/// A TIFF: header, a raw sub-IFD and IFD0 pointing at it, then `pixels` at the end of the file
/// (as cameras write them, so a truncated file loses pixels first).
fn tiff(ifd0: Vec<Tag>, mut raw: Vec<Tag>, pixels: &[u8]) -> Vec<u8> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    raw.push((273, 4, longs(&[0]))); // set below, once the pixels' offset is known
    raw.push((279, 4, longs(&[pixels.len() as u32])));
    let sub = write_ifd(&mut out, raw, 0);
    let mut ifd0 = ifd0;
    ifd0.push((330, 4, longs(&[sub])));
    let first = write_ifd(&mut out, ifd0, 0);
    out[4..8].copy_from_slice(&first.to_le_bytes());
    let at = out.len() as u32;
    out.extend_from_slice(pixels);
    let t = super::tiff::Tiff::parse(&out).expect("the TIFF just written");
    for e in t.entries().filter(|e| e.tag == 273) {
        t.put(&mut out, e.value_at, 4, at as u64);
    }
    out
}

/// The tags of an uncompressed one-strip CFA image (2×2 pattern `cfa`), strip tags added by
/// [`tiff`].
fn cfa_ifd((w, h): (u32, u32), bits: u16, cfa: [u8; 4]) -> Vec<Tag> {
    vec![
        (254, 4, longs(&[0])),
        (256, 4, longs(&[w])),
        (257, 4, longs(&[h])),
        (258, 3, shorts(&[bits])),
        (259, 3, shorts(&[1])),
        (262, 3, shorts(&[32803])),
        (277, 3, shorts(&[1])),
        (278, 4, longs(&[h])),
        (33421, 3, shorts(&[2, 2])),
        (33422, 1, cfa.to_vec()),
    ]
}

/// Pixel bytes that are not all alike (a ramp with some texture).
fn texture(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7) ^ (i >> 5)) as u8).collect()
}

/// An uncompressed 12-bit "NIKON D1" NEF of 96×64 pixels (rawloader's packed little-endian
/// decoder), with white-balance levels; rawloader decodes it.
pub fn nef() -> Vec<u8> {
    let (w, h) = (96u32, 64u32);
    let ifd0 = vec![
        (12, 5, rationals(&[(2, 1), (3, 2)])), // NefWB0: R and B multipliers
        (271, 2, ascii("NIKON CORPORATION")),
        (272, 2, ascii("NIKON D1")),
        (274, 3, shorts(&[1])),
    ];
    let raw = cfa_ifd((w, h), 12, [2, 1, 1, 0]);
    tiff(ifd0, raw, &texture((w * h * 3 / 2) as usize))
}

/// Big-endian opcode list: count, then (id, version 1.3, flags, size, params) per opcode.
fn opcode_list(ops: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = (ops.len() as u32).to_be_bytes().to_vec();
    for (id, params) in ops {
        for v in [*id, 0x0103_0000, 0, params.len() as u32] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(params);
    }
    out
}
fn be32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}
fn be_f64(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}
fn be_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

/// A 40×32 16-bit uncompressed CFA DNG with all three opcode lists and the level, crop and
/// linearization tags; our DNG reader decodes it.
pub fn opcode_dng() -> Vec<u8> {
    let (w, h) = (40u32, 32u32);
    let area = |t: u32, l: u32, b: u32, r: u32| be32(&[t, l, b, r, 0, 1, 1, 1]);
    let gain_map = [
        area(0, 0, 28, 36),
        be32(&[2, 3]),
        be_f64(&[1.0, 0.5, 0.0, 0.0]),
        be32(&[1]),
        be_f32(&[1.0, 1.1, 1.2, 1.0, 0.9, 1.3]),
    ]
    .concat();
    let polynomial = [area(0, 0, 28, 36), be32(&[2]), be_f64(&[0.0, 1.0, 0.01])].concat();
    let delta_rows = [area(0, 0, 28, 36), be32(&[28]), be_f32(&[0.5; 28])].concat();
    let table = [
        area(2, 2, 10, 10),
        be32(&[4]),
        vec![0, 0, 0, 9, 0, 99, 0xff, 0xff],
    ]
    .concat();
    let warp = [
        be32(&[1]),
        be_f64(&[1.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]),
    ]
    .concat();
    let identity: Vec<(u32, u32)> = (0..9).map(|i| ((i % 4 == 0) as u32, 1)).collect();
    let identity_matrix = rationals(&identity);
    let ifd0 = vec![
        (271, 2, ascii("Fuzz")),
        (272, 2, ascii("Opcode DNG")),
        (50706, 1, vec![1, 4, 0, 0]),
        (50721, 10, identity_matrix),
        (50728, 5, rationals(&[(1, 2), (1, 1), (2, 3)])),
    ];
    let mut raw = cfa_ifd((w, h), 16, [0, 1, 1, 2]);
    raw.extend([
        (
            50712,
            3,
            shorts(&(0..256).map(|i| i * 200).collect::<Vec<_>>()),
        ),
        (50713, 3, shorts(&[2, 2])),
        (50714, 4, longs(&[256, 260, 258, 262])),
        (50715, 5, rationals(&[(1, 2); 36])),
        (50716, 5, rationals(&[(1, 4); 28])),
        (50717, 4, longs(&[60000])),
        (50719, 5, rationals(&[(2, 1), (2, 1)])),
        (50720, 5, rationals(&[(30, 1), (24, 1)])),
        (50829, 4, longs(&[2, 2, 30, 38])),
        (51008, 7, opcode_list(&[(4, be32(&[0, 0]))])),
        (
            51009,
            7,
            opcode_list(&[(9, gain_map), (8, polynomial), (10, delta_rows), (7, table)]),
        ),
        (51022, 7, opcode_list(&[(1, warp)])),
        (
            51041,
            12,
            [1e-4f64, 1e-6]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
    ]);
    let pixels: Vec<u8> = (0..w * h)
        .flat_map(|i| ((i * 37 % 255) as u16).to_le_bytes())
        .collect();
    tiff(ifd0, raw, &pixels)
}
