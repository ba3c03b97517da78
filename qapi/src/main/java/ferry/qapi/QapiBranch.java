package ferry.qapi;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a record as one branch of a union (its discriminator value) or of an alternate. A union
 * branch's component named {@code value} holds the branch type, whose members sit flat beside the
 * common ones on the wire.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface QapiBranch {
    String value();
}
