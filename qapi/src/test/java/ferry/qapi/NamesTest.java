package ferry.qapi;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Schema names to Java names. */
class NamesTest {

    @Test
    void constants() {
        assertThat(Names.constant("cpr-reboot")).isEqualTo("CPR_REBOOT");
        assertThat(Names.constant("9p")).isEqualTo("_9P");
        assertThat(Names.constant("zeroPage")).isEqualTo("ZERO_PAGE");
        assertThat(Names.constant("MIGRATION_PASS")).isEqualTo("MIGRATION_PASS");
        assertThat(Names.constant("query-status")).isEqualTo("QUERY_STATUS");
        assertThat(Names.constant("x.y")).isEqualTo("X_Y");
    }

    @Test
    void members() {
        assertThat(Names.member("downtime-limit")).isEqualTo("downtimeLimit");
        assertThat(Names.member("x-cpr_enabled")).isEqualTo("xCprEnabled");
        assertThat(Names.member("default")).isEqualTo("default_");
        assertThat(Names.member("if")).isEqualTo("if_");
        assertThat(Names.member("record")).isEqualTo("record_");
        assertThat(Names.member("hashCode")).isEqualTo("hashCode_");
        assertThat(Names.member("1st")).isEqualTo("_1st");
        assertThat(Names.member("_")).isEqualTo("__");
    }

    @Test
    void types() {
        assertThat(Names.type("String")).isEqualTo("QapiString");
        assertThat(Names.type("Command")).isEqualTo("QapiCommand");
        assertThat(Names.type("InetSocketAddress")).isEqualTo("InetSocketAddress");
        assertThat(Names.type("q-obj-foo")).isEqualTo("q_obj_foo");
        assertThat(Names.type("2Fast")).isEqualTo("_2Fast");
    }

    @Test
    void camelUpper() {
        assertThat(Names.camelUpper("tls-creds-x509")).isEqualTo("TlsCredsX509");
        assertThat(Names.camelUpper("MIGRATION_PASS")).isEqualTo("MigrationPass");
        assertThat(Names.camelUpper("null-co")).isEqualTo("NullCo");
        assertThat(Names.camelUpper("9p")).isEqualTo("_9p");
    }
}
