package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class StoreAddressTest {
    @Test
    void etcdsIsTlsAndReadsBackAsWritten() {
        StoreAddress a = StoreAddress.parse("etcds://10.0.0.9:2379,[fd00::1]:2379,etcd.example:2379");
        assertThat(a.isTls()).isTrue();
        assertThat(a.etcdEndpoints()).containsExactly(URI.create("https://10.0.0.9:2379"),
                URI.create("https://[fd00::1]:2379"), URI.create("https://etcd.example:2379"));
        assertThat(a.etcdHosts()).containsExactly("10.0.0.9", "fd00::1", "etcd.example");
        assertThat(StoreAddress.parse(a.toString())).isEqualTo(a);
    }

    @Test
    void etcdIsPlainAndDirIsNeither() {
        StoreAddress plain = StoreAddress.parse("etcd://127.0.0.1:2379");
        assertThat(plain.isEtcd()).isTrue();
        assertThat(plain.isTls()).isFalse();
        assertThat(plain.toString()).isEqualTo("etcd://127.0.0.1:2379");
        assertThat(StoreAddress.parse("dir").isTls()).isFalse();
    }

    @Test
    void anUnknownSchemeNamesBoth() {
        assertThatThrownBy(() -> StoreAddress.parse("zookeeper://x:1")).hasMessageContaining("etcds://HOST:PORT")
                .hasMessageContaining("etcd://HOST:PORT");
        assertThatThrownBy(() -> StoreAddress.parse("etcds://nohost")).hasMessageContaining("etcds://127.0.0.1:2379");
    }
}
