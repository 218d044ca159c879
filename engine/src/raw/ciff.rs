//! Canon CRW (CIFF) metadata rawloader does not give: the white-balance setting of the shot.
//!
//! The EOS D30 stores one fixed set of multipliers; they are the as-shot white only when the
//! camera was not on automatic white balance (dcraw and LibRaw read them the same way and fall
//! back to their automatic estimate then). CIFF is a heap: its last 4 bytes give the offset of a
//! table of 10-byte entries (type, size, offset); entry types 0x2800 / 0x3000 are sub-heaps.

/// ShotInfo: white-balance index at byte 14 (0 = auto).
const SHOT_INFO: u16 = 0x102a;
/// Sub-heaps nest a few levels in real files; deeper is a corrupt or hostile file.
const MAX_DEPTH: u32 = 8;

/// SensorInfo: sensor width and height as the 2nd and 3rd u16 (what rawloader allocates for).
const SENSOR_INFO: u16 = 0x1031;

/// The white-balance setting (ShotInfo) of a CRW file; `None` when it is not CIFF or has none.
pub(crate) fn white_balance_index(data: &[u8]) -> Option<u16> {
    let info = record(data, SHOT_INFO)?;
    u16_at(info, 14)
}

/// The sensor size (width, height) a CRW file declares; `None` when it is not CIFF or has none.
pub(crate) fn sensor_size(data: &[u8]) -> Option<(u16, u16)> {
    let info = record(data, SENSOR_INFO)?;
    Some((u16_at(info, 2)?, u16_at(info, 4)?))
}

/// The bytes of the first record of type `tag` in a CIFF file's heaps.
fn record(data: &[u8], tag: u16) -> Option<&[u8]> {
    if data.get(..2)? != b"II" || data.get(6..14)? != b"HEAPCCDR" {
        return None;
    }
    let header = u32_at(data, 2)? as usize;
    find(data, tag, header, data.len(), 0)
}

fn find(data: &[u8], tag: u16, start: usize, end: usize, depth: u32) -> Option<&[u8]> {
    if depth > MAX_DEPTH || end < start + 4 || end > data.len() {
        return None;
    }
    let table = start.checked_add(u32_at(data, end - 4)? as usize)?;
    let count = u16_at(data, table)? as usize;
    for i in 0..count.min(1024) {
        let entry = table + 2 + i * 10;
        let p = u16_at(data, entry)?;
        if p & 0xc000 != 0 {
            continue; // value stored in the entry itself: never ShotInfo or a sub-heap
        }
        let size = u32_at(data, entry + 2)? as usize;
        let offset = start.checked_add(u32_at(data, entry + 6)? as usize)?;
        let stop = offset.checked_add(size)?;
        if stop > end {
            continue;
        }
        if p & 0x3fff == tag {
            return data.get(offset..stop);
        }
        if matches!(p & 0x3800, 0x2800 | 0x3000) {
            if let Some(v) = find(data, tag, offset, stop, depth + 1) {
                return Some(v);
            }
        }
    }
    None
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn eos_d30_shot_on_auto_white_balance_and_garbage_is_none() {
        let path = super::super::testing::real_raw("canon_eos_d30_tree.crw");
        let data = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{} is needed (../shared/data/real): {e}", path.display()));
        assert_eq!(super::white_balance_index(&data), Some(0));
        // Truncations and non-CIFF data never panic.
        for n in [0, 13, 26, 100, data.len() / 2] {
            let _ = super::white_balance_index(&data[..n]);
        }
        assert_eq!(super::white_balance_index(b"II*\0not a crw at all"), None);
    }
}
