package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootblockTest {
    @TempDir Path cache;

    @Test
    void buildsA512ByteBootSectorWithDefaults() throws Exception {
        Path img = Bootblock.build(cache);
        byte[] b = Files.readAllBytes(img);
        assertThat(b).hasSize(512);
        assertThat(b[510]).isEqualTo((byte) 0x55);
        assertThat(b[511]).isEqualTo((byte) 0xaa);
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat((long) le.getInt(Bootblock.REGION_END_OFFSET)).isEqualTo(Bootblock.DEFAULT_REGION_END);
        assertThat(le.getInt(Bootblock.DELAY_OFFSET)).isZero();
        // The MBR partition table stays empty so QEMU does not guess geometry from our bytes.
        for (int i = 0x1be; i < 0x1fe; i++) {
            assertThat(b[i]).as("byte 0x%x", i).isZero();
        }
    }

    @Test
    void reusesTheCachedImage() throws Exception {
        Path first = Bootblock.build(cache);
        long mtime = Files.getLastModifiedTime(first).toMillis();
        Thread.sleep(20);
        Path second = Bootblock.build(cache);
        assertThat(second).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(second).toMillis()).isEqualTo(mtime);
        assertThat(first.getFileName().toString()).contains(Bootblock.shortHash(Bootblock.source()));
    }

    @Test
    void rebuildsACorruptCachedImage() throws Exception {
        Path img = Bootblock.build(cache);
        Files.write(img, new byte[512]);
        assertThat(Files.readAllBytes(Bootblock.build(cache))[510]).isEqualTo((byte) 0x55);
    }

    @Test
    void concurrentBuildersAgree() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Path>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                futures.add(pool.submit((Callable<Path>) () -> Bootblock.build(cache)));
            }
            Path expected = futures.getFirst().get();
            for (Future<Path> f : futures) {
                assertThat(f.get()).isEqualTo(expected);
            }
            assertThat(Files.readAllBytes(expected)).hasSize(512);
            try (var files = Files.list(cache)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactly(expected.getFileName().toString());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void imagePatchesTunables() throws Exception {
        Path img = Bootblock.image(cache, 8L << 20, 1234);
        byte[] b = Files.readAllBytes(img);
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(le.getInt(Bootblock.REGION_END_OFFSET)).isEqualTo(8 << 20);
        assertThat(le.getInt(Bootblock.DELAY_OFFSET)).isEqualTo(1234);
        assertThat(Bootblock.checkImage(b)).isNull();
        // The base image is untouched.
        assertThat(Files.readAllBytes(Bootblock.build(cache))).isNotEqualTo(b);
    }

    @Test
    void imageRejectsBadArguments() {
        assertThatThrownBy(() -> Bootblock.image(cache, Bootblock.REGION_START, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Bootblock.image(cache, (8L << 20) + 1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Bootblock.image(cache, 1L << 32, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Bootblock.image(cache, 8L << 20, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pagesCountsTheRegion() {
        assertThat(Bootblock.pages(Bootblock.DEFAULT_REGION_END)).isEqualTo(25_344);
    }

    @Test
    void missingToolSaysWhatToInstall() {
        assertThatThrownBy(() -> BuildTool.run(cache, List.of("ferry-no-such-assembler", "--version"), "bootblock",
                Assembler.HINT, 10))
                .hasMessageContaining("cannot run 'ferry-no-such-assembler'")
                .hasMessageContaining("install binutils (scripts/install-deps)");
    }
}
