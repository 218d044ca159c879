/* Develop a raw photo with burstpipe from C.
 *
 *   cc develop.c $(pkg-config --cflags --libs burstpipe) -o develop
 *   ./develop photo.dng photo.png [pixels.rgb16]
 *
 * Writes the finished photo (16-bit PNG) and, if a third path is given, the pixels as they are
 * in memory (width x height x 3 native-endian uint16_t). On failure prints bp_last_error(). */
#include <stdio.h>
#include <burstpipe.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s input.dng output.png [pixels.rgb16]\n", argv[0]);
        return 2;
    }
    bp_engine *engine = bp_engine_new(NULL); /* NULL: the best adapter */
    if (!engine) {
        fprintf(stderr, "develop: %s\n", bp_last_error());
        return 1;
    }
    bp_options options = bp_options_default();
    options.bits = 16;
    bp_image *image = bp_develop(engine, argv[1], &options);
    if (!image) {
        fprintf(stderr, "develop: %s\n", bp_last_error());
        bp_engine_free(engine);
        return 1;
    }
    uint32_t width = bp_image_width(image), height = bp_image_height(image);
    printf("%u %u %u %s\n", width, height, bp_image_bits(image), bp_engine_adapter(engine));
    int status = bp_image_save(image, argv[2]) == 0 ? 0 : 1;
    if (status)
        fprintf(stderr, "develop: %s\n", bp_last_error());
    if (status == 0 && argc > 3) {
        FILE *f = fopen(argv[3], "wb");
        size_t n = (size_t)width * height * 3;
        if (!f || fwrite(bp_image_data(image), sizeof(uint16_t), n, f) != n) {
            perror(argv[3]);
            status = 1;
        }
        if (f)
            fclose(f);
    }
    bp_image_free(image);
    bp_engine_free(engine);
    return status;
}
