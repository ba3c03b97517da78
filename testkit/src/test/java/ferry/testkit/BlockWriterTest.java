package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The block writer (the guest's own program, run here on a file) and the oracle that reads what it left. */
class BlockWriterTest {
    @TempDir
    Path dir;

    @Test
    void theOracleAcceptsWhatTheWriterLeavesAndNamesEachKindOfDamage() throws Exception {
        String why = LinuxStress.unavailableReason();
        Assumptions.assumeTrue(why == null, why);
        Path bin = LinuxStress.diskWriterBinary(LinuxStressGuest.cacheDir());
        Path disk = dir.resolve("disk.img");
        Files.write(disk, new byte[64 * BlockWriter.BLOCK]);
        // 64 blocks at 1 MiB/s: four passes a second, so a 1.3 s run ends mid-pass of generation 5 or 6
        Path console = dir.resolve("console.txt");
        Process p = new ProcessBuilder(bin.toString(), disk.toString(), "64", "1024").redirectOutput(console.toFile())
                .start();
        Thread.sleep(1300);
        p.destroyForcibly();
        assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(console, StandardCharsets.UTF_8);
        assertThat(out).contains(BlockWriter.READY);
        long ack = BlockWriter.lastAck(out);
        assertThat(ack).as(out).isGreaterThan(64);

        byte[] image = Files.readAllBytes(disk);
        BlockWriter.Result ok = BlockWriter.check(image, 64, ack);
        assertThat(ok.ok()).as(ok.message()).isTrue();
        assertThat(ok.generation()).isGreaterThan(1);

        byte[] torn = image.clone();
        torn[5 * BlockWriter.BLOCK + 2000] ^= 1;
        assertThat(BlockWriter.check(torn, 64, ack).message()).startsWith("block 5: payload word 250 is wrong");

        // a block before the newest that never arrived: a lost write
        int lost = (int) ((ok.newest() + 63) % 64);
        byte[] holed = image.clone();
        Arrays.fill(holed, lost * BlockWriter.BLOCK, (lost + 1) * BlockWriter.BLOCK, (byte) 0);
        assertThat(BlockWriter.check(holed, 64, ack).message()).startsWith("block " + lost + " holds write -1")
                .contains("a lost or stale write");

        assertThat(BlockWriter.check(image, 64, ok.newest() + 1).message()).contains("was acknowledged to the guest");
    }
}
