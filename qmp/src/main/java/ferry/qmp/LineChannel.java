package ferry.qmp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Newline-framed reading and writing on a blocking channel. One thread reads while others write:
 * a SocketChannel allows that, unlike stream wrappers that share one lock.
 */
final class LineChannel {
    /** The peer sent a line longer than we accept. */
    static final class LineTooLongException extends IOException {
        LineTooLongException(int max) {
            super("peer sent a line longer than " + max + " bytes");
        }
    }

    private final SocketChannel channel;
    private final int maxLine;
    private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final Object writeLock = new Object();

    LineChannel(SocketChannel channel, int maxLine) {
        this.channel = channel;
        this.maxLine = maxLine;
        in.flip();
    }

    /** The next line without its newline, or null at end of stream. */
    byte[] readLine() throws IOException {
        line.reset();
        while (true) {
            while (in.hasRemaining()) {
                byte b = in.get();
                if (b == '\n') {
                    return line.toByteArray();
                }
                if (line.size() >= maxLine) {
                    throw new LineTooLongException(maxLine);
                }
                line.write(b);
            }
            in.clear();
            int n = channel.read(in);
            in.flip();
            if (n < 0) {
                return null;
            }
        }
    }

    void writeLine(byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(bytes.length + 1).put(bytes).put((byte) '\n').flip();
        synchronized (writeLock) {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        }
    }

    void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing is best effort; the reader sees the end either way
        }
    }
}
