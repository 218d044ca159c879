use super::*;

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Smooth ramps plus noise (what a sensor gives), with the extremes 0 and max sprinkled in.
fn image(w: usize, h: usize, nc: usize, precision: u8, seed: u64) -> Vec<u16> {
    let max = (1u32 << precision) - 1;
    let mut rng = Rng(seed | 1);
    (0..w * h * nc)
        .map(|i| {
            let (x, y, c) = (i / nc % w, i / nc / w, i % nc);
            let r = rng.next();
            let v = match r % 16 {
                0 => 0,
                1 => max,
                2 => (r >> 8) as u32 & max, // uniform: any difference
                _ => {
                    let smooth = (x * 37 + y * 23 + c * 101) as u32 % (max + 1);
                    let noise = (r >> 20) as u32 % (max / 16 + 1);
                    (smooth + noise).min(max)
                }
            };
            v as u16
        })
        .collect()
}

fn options(predictor: u8, precision: u8) -> EncodeOptions {
    EncodeOptions {
        predictor,
        precision,
        point_transform: 0,
        restart_lines: 0,
    }
}

#[test]
fn every_predictor_component_count_and_precision_round_trips() {
    let (w, h) = (13u32, 9u32);
    for predictor in 1..=7 {
        for nc in 1..=4u32 {
            for precision in [2u8, 8, 12, 14, 16] {
                let seed = predictor as u64 * 1000 + nc as u64 * 100 + precision as u64;
                let samples = image(w as usize, h as usize, nc as usize, precision, seed);
                let stream = encode(&samples, w, h, nc, options(predictor, precision));
                let back = decode(&stream, u64::MAX).unwrap_or_else(|e| {
                    panic!("predictor {predictor}, {nc} components, {precision} bits: {e}")
                });
                assert_eq!(
                    (back.width, back.height, back.components, back.precision),
                    (w, h, nc, precision)
                );
                assert!(
                    back.samples == samples,
                    "predictor {predictor}, {nc} components, {precision} bits differ"
                );
            }
        }
    }
}

#[test]
fn restart_markers_round_trip_with_every_predictor() {
    let (w, h, nc) = (11u32, 10u32, 2u32);
    for predictor in 1..=7 {
        for restart_lines in [1, 3, 4] {
            let samples = image(w as usize, h as usize, nc as usize, 12, predictor as u64);
            let o = EncodeOptions {
                restart_lines,
                ..options(predictor, 12)
            };
            let stream = encode(&samples, w, h, nc, o);
            let rst = stream
                .windows(2)
                .filter(|p| p[0] == 0xFF && (0xD0..=0xD7).contains(&p[1]));
            assert_eq!(
                rst.count() as u32,
                (h - 1) / restart_lines,
                "RST markers written"
            );
            let back = decode(&stream, u64::MAX).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                back.samples == samples,
                "predictor {predictor}, restart every {restart_lines}"
            );
        }
    }
}

#[test]
fn sixteen_bit_category_with_no_extra_bits_round_trips() {
    // Neighbours 32768 apart: the difference −32768 ≡ 32768 is category 16 (H.1.2.2).
    let samples: Vec<u16> = (0..64)
        .map(|i| if (i + i / 8) % 2 == 0 { 0 } else { 32768 })
        .collect();
    for predictor in [1, 2, 7] {
        let stream = encode(&samples, 8, 8, 1, options(predictor, 16));
        let back = decode(&stream, u64::MAX).unwrap();
        assert_eq!(back.samples, samples);
    }
}

#[test]
fn point_transform_restores_the_dropped_low_bits_as_zeros() {
    let samples: Vec<u16> = image(10, 6, 3, 16, 5).iter().map(|v| v & !7).collect();
    let o = EncodeOptions {
        point_transform: 3,
        ..options(4, 16)
    };
    let back = decode(&encode(&samples, 10, 6, 3, o), u64::MAX).unwrap();
    assert_eq!(back.samples, samples);
}

/// A stream written by hand (not by our encoder), so the predictor arithmetic is checked
/// against T.81 rather than against itself: 8-bit, 2×2, one component, predictor 7, one
/// Huffman table where category 0 is "0", 1 is "10", 2 is "110".
#[test]
fn hand_built_stream_decodes_to_values_worked_out_from_the_standard() {
    let mut s = vec![0xFF, SOI];
    s.extend_from_slice(&[
        0xFF, DHT, 0, 22, 0x00, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    s.extend_from_slice(&[0, 1, 2]);
    s.extend_from_slice(&[0xFF, SOF3, 0, 11, 8, 0, 2, 0, 2, 1, 1, 0x11, 0]);
    s.extend_from_slice(&[0xFF, SOS, 0, 8, 1, 1, 0x00, 7, 0, 0]);
    // (0,0): 128 + 2 = 130   "110" "10"
    // (1,0): Ra 130 + 1 = 131 "10" "1"
    // (0,1): Rb 130 − 3 = 127 "110" "00"
    // (1,1): (Ra 127 + Rb 131) >> 1 = 129, + 0 = 129 "0"
    // bits: 11010 101 11000 0 + padding 1s = 11010101 11000011 (0xD5 0xC3)
    s.extend_from_slice(&[0xD5, 0xC3, 0xFF, EOI]);
    let back = decode(&s, 4).unwrap();
    assert_eq!(back.samples, [130, 131, 127, 129]);
    // The same with predictor 6: Rb + ((Ra − Rc) >> 1) = 131 + ((127 − 130) >> 1) = 131 − 2.
    let p = s.len() - 7;
    assert_eq!(s[p], 7);
    s[p] = 6;
    assert_eq!(decode(&s, 4).unwrap().samples, [130, 131, 127, 129]);
    // Predictor 5: Ra + ((Rb − Rc) >> 1) = 127 + 0 = 127; 3: Rc = 130.
    s[p] = 5;
    assert_eq!(decode(&s, 4).unwrap().samples, [130, 131, 127, 127]);
    s[p] = 3;
    assert_eq!(decode(&s, 4).unwrap().samples, [130, 131, 127, 130]);
    // Predictor 2: Rb = 131; 4: Ra + Rb − Rc = 127 + 131 − 130 = 128; 1: Ra = 127.
    for (predictor, last) in [(2, 131), (4, 128), (1, 127)] {
        s[p] = predictor;
        assert_eq!(decode(&s, 4).unwrap().samples, [130, 131, 127, last]);
    }
}

#[test]
fn truncated_streams_are_errors_not_panics() {
    let samples = image(16, 8, 2, 12, 9);
    let stream = encode(&samples, 16, 8, 2, options(1, 12));
    for len in 0..stream.len() - 2 {
        // Cutting off the EOI marker alone loses no data; anything shorter must be refused.
        match decode(&stream[..len], u64::MAX) {
            Err(LjpegError::Corrupt(_)) => {}
            other => panic!("cut at {len} of {}: {other:?}", stream.len()),
        }
    }
}

#[test]
fn corrupt_streams_never_panic() {
    let samples = image(16, 8, 3, 16, 11);
    let o = EncodeOptions {
        restart_lines: 2,
        ..options(6, 16)
    };
    let stream = encode(&samples, 16, 8, 3, o);
    let mut rng = Rng(77);
    for _ in 0..3000 {
        let mut s = stream.clone();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % s.len() as u64) as usize;
            s[i] = rng.next() as u8;
        }
        let _ = decode(&s, 1 << 16);
    }
}

#[test]
fn declared_size_above_the_limit_is_refused_before_allocating() {
    let stream = encode(&image(16, 8, 2, 12, 3), 16, 8, 2, options(1, 12));
    assert!(decode(&stream, 16 * 8 * 2).is_ok());
    assert!(matches!(
        decode(&stream, 16 * 8 * 2 - 1),
        Err(LjpegError::Corrupt(_))
    ));
}

#[test]
fn huffman_code_lengths_stay_within_16_bits_and_leave_all_ones_unused() {
    // Fibonacci frequencies force the deepest possible tree.
    let mut freq = [0u64; 17];
    let (mut a, mut b) = (1u64, 1u64);
    for f in freq.iter_mut() {
        *f = a;
        (a, b) = (b, a + b);
    }
    let (counts, values) = huffman_lengths(&freq);
    assert_eq!(values.len(), 17);
    assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), 17);
    // Kraft sum strictly below 1: the all-ones code of the longest length is free.
    let kraft: f64 = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| c as f64 / 2f64.powi(i as i32 + 1))
        .sum();
    assert!(kraft < 1.0, "{kraft}");
    assert!(Huffman::new(&counts, &values).is_ok());
}
