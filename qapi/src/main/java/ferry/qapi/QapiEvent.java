package ferry.qapi;

/** A typed QMP event; generated records implement it and carry a static {@code NAME}. */
public interface QapiEvent {
    Timestamp timestamp();
}
